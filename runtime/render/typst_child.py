"""One Typst compile in a child process: the request as JSON on stdin, the PDF on stdout.

Run by path with ``python -I`` so it imports nothing but the ``typst`` binding. The binding
keeps Typst's memoisation cache for the life of the process (about 200 MB per 2,500 table
rows), so compiling in a throw-away process is what keeps the web worker's memory flat.
"""

from __future__ import annotations

import json
import sys
from typing import Any

#: How every report is compiled: only the fonts of ``font_dir`` (no scan of the system's
#: fonts) and an untagged PDF. ``bench/exports.py`` compiles its baseline with these too.
OPTIONS = {
    "include_system_fonts": False,
    "include_embedded_fonts": True,
    "ignore_system_fonts": True,
    "pdf_tags": False,
}


def compile_options(font_dir: str) -> dict[str, Any]:
    """Keyword arguments for ``typst.compile`` besides the input, root and sys_inputs."""
    import typst

    fonts = typst.Fonts(
        include_system_fonts=OPTIONS["include_system_fonts"],
        include_embedded_fonts=OPTIONS["include_embedded_fonts"],
        font_paths=[font_dir],
    )
    return {
        "font_paths": fonts,
        "ignore_system_fonts": OPTIONS["ignore_system_fonts"],
        "pdf_tags": OPTIONS["pdf_tags"],
    }


def main() -> int:
    import typst

    request = json.load(sys.stdin)
    inputs = {"report": request["report"]}
    if request.get("chart") is not None:
        inputs["chart"] = request["chart"]
    try:
        pdf = typst.compile(
            request["layout"],
            root=request["root"],
            sys_inputs=inputs,
            **compile_options(request["font_dir"]),
        )
    except typst.TypstError as error:
        sys.stderr.write(f"{error.message}\n{error.diagnostic}\n")
        return 2
    sys.stdout.buffer.write(pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
