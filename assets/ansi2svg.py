#!/usr/bin/env python3
"""Turns a tmux pane capture with escapes (`tmux capture-pane -e -p`) into an SVG screenshot.

Usage: tmux capture-pane -e -p -t PANE | python3 assets/ansi2svg.py WIDTH HEIGHT > shot.svg

Only what tmux emits is handled: SGR bold, dim, underline, reverse and the 16/256/true colours.
Colours are drawn with a dark palette close to common terminal defaults."""
import html
import re
import sys

PALETTE = [
    "#1e1e1e", "#e05561", "#8cc265", "#d18f52", "#4aa5f0", "#c162de", "#42b3c2", "#d7dae0",
    "#5c6370", "#ff616e", "#a5e075", "#f0a45d", "#4dc4ff", "#de73ff", "#4cd1e0", "#ffffff",
]
FOREGROUND, BACKGROUND = "#d7dae0", "#1e1e1e"
CELL_W, CELL_H = 8.4, 17


def colour_256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    level = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (level, level, level)


def apply_sgr(state, params):
    codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            state.clear()
        elif c in (1, 2, 4, 7):
            state[c] = True
        elif c == 22:
            state.pop(1, None)
            state.pop(2, None)
        elif c in (24, 27):
            state.pop(c - 20, None)
        elif 30 <= c <= 37 or 90 <= c <= 97:
            state["fg"] = PALETTE[c - 30 if c < 90 else c - 82]
        elif 40 <= c <= 47 or 100 <= c <= 107:
            state["bg"] = PALETTE[c - 40 if c < 100 else c - 92]
        elif c in (39, 49):
            state.pop("fg" if c == 39 else "bg", None)
        elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
            state["fg" if c == 38 else "bg"] = colour_256(codes[i + 2])
            i += 2
        elif c in (38, 48) and i + 4 < len(codes) and codes[i + 1] == 2:
            state["fg" if c == 38 else "bg"] = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
            i += 4
        i += 1


def cells(line):
    state, out = {}, []
    for part in re.split(r"(\x1b\[[0-9;]*m)", line):
        if part.startswith("\x1b["):
            apply_sgr(state, part[2:-1])
        else:
            out.extend((ch, dict(state)) for ch in part)
    return out


def main():
    width, height = int(sys.argv[1]), int(sys.argv[2])
    lines = sys.stdin.read().split("\n")[:height]
    w, h = width * CELL_W, height * CELL_H
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}">',
        f'<rect width="100%" height="100%" fill="{BACKGROUND}"/>',
        '<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14" xml:space="preserve">',
    ]
    for y, line in enumerate(lines):
        runs = []  # (style key, [(x, ch)])
        for x, (ch, style) in enumerate(cells(line)[:width]):
            fg, bg = style.get("fg", FOREGROUND), style.get("bg")
            if style.get(7):
                fg, bg = bg or BACKGROUND, fg
            if bg:
                out.append(f'<rect x="{x * CELL_W:.1f}" y="{y * CELL_H}" width="{CELL_W + 0.3:.1f}" height="{CELL_H}" fill="{bg}"/>')
            if ch == " ":
                continue
            key = (fg, bool(style.get(1)), bool(style.get(2)), bool(style.get(4)))
            if runs and runs[-1][0] == key and runs[-1][1][-1][0] == x - 1:
                runs[-1][1].append((x, ch))
            else:
                runs.append((key, [(x, ch)]))
        for (fg, bold, dim, underline), chars in runs:
            attrs = f'fill="{fg}"' + (' font-weight="bold"' if bold else "") + (' opacity="0.6"' if dim else "")
            attrs += ' text-decoration="underline"' if underline else ""
            xs = " ".join(f"{x * CELL_W:.1f}" for x, _ in chars)
            text = html.escape("".join(ch for _, ch in chars))
            out.append(f'<text x="{xs}" y="{y * CELL_H + 13}" {attrs}>{text}</text>')
    out.append("</g></svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
