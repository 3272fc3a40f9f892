# hone's traceback printer, compiled only when a run fails (a passing run does not pay for
# compiling it): prints an uncaught exception as Python prints it, without the harness's
# frames and with the tests' source lines, by walking the traceback objects rather than
# importing the traceback module (whose import, with linecache and tokenize, is most of what
# a failing run would otherwise pay); only a syntax error, rare and printed specially, takes
# that path. The harness binds `source` (the tests), `main_file`, `first` and `call` (the
# harness's own lines in the program) and `sys` before calling `show`.

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

