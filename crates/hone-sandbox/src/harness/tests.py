def _hone_run_tests_(source):
    # hone's test harness: the job's tests run in this module, compiled as the file "tests"
    # (so a traceback names their own lines), with each `assert a <op> b` rewritten to
    # remember both sides: a failing assertion says the values it compared.
    import ast
    import linecache
    import sys
    import traceback

    ops = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
           ast.GtE: ">=", ast.In: "in", ast.NotIn: "not in", ast.Is: "is",
           ast.IsNot: "is not"}
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

    # Errors are printed without the harness's own frames, with the tests' source lines.
    caller = sys._getframe(1)
    main_file, first, call = (caller.f_code.co_filename,
                              _hone_run_tests_.__code__.co_firstlineno, caller.f_lineno)

    def hook(kind, value, tb):
        frames = [f for f in traceback.extract_tb(tb)
                  if not (f.filename == main_file and first <= f.lineno <= call)]
        if frames:
            sys.stderr.write("Traceback (most recent call last):\n")
            sys.stderr.write("".join(traceback.format_list(frames)))
        sys.stderr.write("".join(traceback.format_exception_only(kind, value)))

    class Rewrite(ast.NodeTransformer):
        def visit_Assert(self, node):
            test = node.test
            if not (isinstance(test, ast.Compare) and len(test.ops) == 1
                    and type(test.ops[0]) in ops):
                return node
            op = ast.Constant(ops[type(test.ops[0])])
            call = ast.Call(ast.Name("_hone_check_", ast.Load()),
                            [test.left, test.comparators[0], op], [])
            message = ast.Constant(None)
            if node.msg is not None:
                no_args = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                                        kw_defaults=[], defaults=[])
                message = ast.Lambda(no_args, node.msg)
            why = ast.Call(ast.Name("_hone_explain_", ast.Load()), [message], [])
            return ast.copy_location(ast.Assert(call, why), node)

    linecache.cache["tests"] = (len(source), None, source.splitlines(True), "tests")
    sys.excepthook = hook
    try:
        parsed = ast.parse(source, "tests")
    except SyntaxError as e:
        raise e.with_traceback(None)
    tree = ast.fix_missing_locations(Rewrite().visit(parsed))
    globals()["_hone_check_"] = check
    globals()["_hone_explain_"] = explain
    exec(compile(tree, "tests", "exec"), globals())


