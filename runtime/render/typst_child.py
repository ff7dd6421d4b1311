"""One Typst compile in a child process: the request as JSON on stdin, the PDF on stdout.

Run by path with ``python -I`` so it imports nothing but the ``typst`` binding. The binding
keeps Typst's memoisation cache for the life of the process (about 200 MB per 2,500 table
rows), so compiling in a throw-away process is what keeps the web worker's memory flat.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    import typst

    request = json.load(sys.stdin)
    inputs = {"report": request["report"]}
    if request.get("chart") is not None:
        inputs["chart"] = request["chart"]
    fonts = typst.Fonts(
        include_system_fonts=False, include_embedded_fonts=True, font_paths=[request["font_dir"]]
    )
    try:
        pdf = typst.compile(
            request["layout"],
            root=request["root"],
            font_paths=fonts,
            ignore_system_fonts=True,
            sys_inputs=inputs,
            pdf_tags=False,
        )
    except typst.TypstError as error:
        sys.stderr.write(f"{error.message}\n{error.diagnostic}\n")
        return 2
    sys.stdout.buffer.write(pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
