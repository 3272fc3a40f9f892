def _hone_run_tests_(source, failure):
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
    # the tests' source lines, by the printer in `failure` (harness/failure.py), compiled only
    # when a run fails.
    caller = sys._getframe(1)
    main_file, first, call = (caller.f_code.co_filename,
                              _hone_run_tests_.__code__.co_firstlineno, caller.f_lineno)

    def hook(kind, value, tb):
        try:
            printer = {"source": source, "main_file": main_file, "first": first,
                       "call": call, "sys": sys}
            exec(compile(failure, "<hone traceback printer>", "exec"), printer)
            printer["show"](kind, value, tb)
        except Exception:
            sys.__excepthook__(kind, value, tb)

    sys.excepthook = hook
    try:
        tree = compile(source, "tests", "exec", _ast.PyCF_ONLY_AST)
    except SyntaxError as e:
        raise e.with_traceback(None)
    globals()["_hone_check_"] = check
    globals()["_hone_explain_"] = explain
    exec(compile(rewrite(tree), "tests", "exec"), globals())


