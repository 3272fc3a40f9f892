def _hone_run_tests_(source):
    # hone's test harness: the job's tests run in this module, compiled as the file "tests"
    # (so a traceback names their own lines), with each `assert a <op> b` rewritten to
    # remember both sides: a failing assertion says the values it compared. It uses the
    # built-in _ast module, not ast.py, and prints a failure without importing traceback:
    # a run pays for little more than compiling the tests.
    import _ast
    import sys

    ops = {_ast.Eq: "==", _ast.NotEq: "!=", _ast.Lt: "<", _ast.LtE: "<=", _ast.Gt: ">",
           _ast.GtE: ">=", _ast.In: "in", _ast.NotIn: "not in", _ast.Is: "is",
           _ast.IsNot: "is not"}
    holds = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b,
             "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
             ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
             "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
             "is": lambda a, b: a is b, "is not": lambda a, b: a is not b}
    last = []

    def shown(value):
        try:
            text = repr(value)
        except Exception as e:
            text = "<repr failed: %s>" % type(e).__name__
        return text if len(text) <= 300 else text[:300] + "..."

    def check(left, right, op):
        last[:] = [left, right, op]
        return holds[op](left, right)

    def explain(message):
        left, right, op = last
        compared = "%s %s %s is false" % (shown(left), op, shown(right))
        if message is None:
            return compared
        return "%s (%s)" % (message(), compared)

    def at(node, where):
        for name in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            setattr(node, name, getattr(where, name, None))
        return node

    def rewrite(node):
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                setattr(node, name, [rewrite(v) if isinstance(v, _ast.AST) else v
                                     for v in value])
            elif isinstance(value, _ast.AST):
                setattr(node, name, rewrite(value))
        if not isinstance(node, _ast.Assert):
            return node
        test = node.test
        if not (isinstance(test, _ast.Compare) and len(test.ops) == 1
                and type(test.ops[0]) in ops):
            return node
        op = at(_ast.Constant(ops[type(test.ops[0])]), test)
        name = at(_ast.Name("_hone_check_", _ast.Load()), test)
        call = at(_ast.Call(name, [test.left, test.comparators[0], op], []), test)
        message = at(_ast.Constant(None), node)
        if node.msg is not None:
            no_args = _ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                                     kw_defaults=[], defaults=[])
            message = at(_ast.Lambda(no_args, node.msg), node.msg)
        name = at(_ast.Name("_hone_explain_", _ast.Load()), node)
        why = at(_ast.Call(name, [message], []), node)
        return at(_ast.Assert(call, why), node)

    # Errors are printed as Python prints them, without the harness's own frames and with
    # the tests' source lines. The frames are walked here rather than through the traceback
    # module, whose import (with linecache and tokenize) is most of what a failing run would
    # otherwise pay; only a syntax error, rare and printed specially, takes that path.
    caller = sys._getframe(1)
    main_file, first, call = (caller.f_code.co_filename,
                              _hone_run_tests_.__code__.co_firstlineno, caller.f_lineno)
    files = {"tests": source.splitlines()}

    def line_of(filename, lineno):
        if filename not in files:
            try:
                with open(filename, encoding="utf-8", errors="replace") as f:
                    files[filename] = f.read().splitlines()
            except Exception:
                files[filename] = []
        lines = files[filename]
        return lines[lineno - 1] if lineno and 0 < lineno <= len(lines) else ""

    def carets(tb, line):
        # Where in the line the failing operation is: ^ under it when it is not the whole
        # line (Python's ~ anchors inside binary operations and subscripts are left out).
        code, index = tb.tb_frame.f_code, tb.tb_lasti // 2
        positions = getattr(code, "co_positions", None)  # Python 3.11 and later
        if positions is None:
            return ""
        for i, where in enumerate(positions()):
            if i == index:
                break
        else:
            return ""
        start_line, end_line, start, end = where
        if start is None or end is None:
            return ""
        raw = line.encode("utf-8")
        start = len(raw[:start].decode("utf-8", "replace"))
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if start_line == end_line:
            end = len(raw[:end].decode("utf-8", "replace"))
        else:
            end = indent + len(stripped)
        if end - start >= len(stripped) or start < indent:
            return ""
        return "    " + " " * (start - indent) + "^" * (end - start) + "\n"

    def frames(tb):
        out, last, count = [], None, 0
        while tb is not None:
            code, lineno = tb.tb_frame.f_code, tb.tb_lineno
            name = code.co_filename
            if not (name == main_file and first <= lineno <= call):
                here = (name, lineno, code.co_name)
                if here != last:
                    if count > 3:
                        out.append("  [Previous line repeated %d more time%s]\n"
                                   % (count - 3, "s" if count - 3 > 1 else ""))
                    last, count = here, 0
                count += 1
                if count <= 3:
                    out.append('  File "%s", line %s, in %s\n' % here)
                    line = line_of(name, lineno)
                    if line.strip():
                        out.append("    %s\n" % line.strip())
                        out.append(carets(tb, line))
            tb = tb.tb_next
        if count > 3:
            out.append("  [Previous line repeated %d more time%s]\n"
                       % (count - 3, "s" if count - 3 > 1 else ""))
        return "".join(out)

    def exception_only(kind, value):
        name, module = kind.__qualname__, kind.__module__
        if module not in ("__main__", "builtins"):
            name = "%s.%s" % (module if isinstance(module, str) else "<unknown>", name)
        try:
            text = str(value)
        except Exception:
            text = "<exception str() failed>"
        out = ["%s: %s\n" % (name, text) if text else "%s\n" % name]
        notes = getattr(value, "__notes__", None)
        if isinstance(notes, (list, tuple)):
            for note in notes:
                try:
                    note = str(note)
                except Exception:
                    note = "<note str() failed>"
                out.extend(l + "\n" for l in note.split("\n"))
        return "".join(out)

    def hook(kind, value, tb):
        try:
            show(kind, value, tb)
        except Exception:
            sys.__excepthook__(kind, value, tb)

    def show(kind, value, tb):
        if issubclass(kind, SyntaxError):
            import linecache
            import traceback
            linecache.cache["tests"] = (len(source), None, source.splitlines(True), "tests")
            printed = "".join(traceback.format_exception_only(kind, value))
        else:
            printed = exception_only(kind, value)
        shown = frames(tb)
        if shown:
            sys.stderr.write("Traceback (most recent call last):\n")
            sys.stderr.write(shown)
        sys.stderr.write(printed)

    sys.excepthook = hook
    try:
        tree = compile(source, "tests", "exec", _ast.PyCF_ONLY_AST)
    except SyntaxError as e:
        raise e.with_traceback(None)
    globals()["_hone_check_"] = check
    globals()["_hone_explain_"] = explain
    exec(compile(rewrite(tree), "tests", "exec"), globals())


