"""Every keyboard shortcut and mouse gesture of the app in one table; the menus and the Help sheet read it.

Each row: an action id, the menu it lives in, its menu text, its keys (the first is shown in the menu) and, for the
sheet, what it does. Mouse gestures have no id and no keys in the menu sense; they are listed for the sheet only.
"""

from __future__ import annotations

from html import escape

SHORTCUTS: list[tuple[str, str, str, tuple[str, ...], str]] = [
    ("open_image", "File", "Open &Image…", ("Ctrl+O",), "Open one image"),
    ("open_folder", "File", "Open &Folder or Project…", ("Ctrl+Shift+O",), "Open a folder of images or a project"),
    ("save", "File", "&Save Labels", ("Ctrl+S",), "Save the labels of this image"),
    ("done", "File", "Mark &Done and Next Unlabeled", ("Ctrl+Return",), "Mark this image done and go on"),
    ("export", "File", "&Export…", ("Ctrl+E",), "Export the labels (COCO, CVAT, YOLO-seg, LabelMe…)"),
    ("quit", "File", "&Quit", ("Ctrl+Q",), "Quit"),
    ("undo", "Edit", "&Undo", ("Ctrl+Z",), "Undo the last edit"),
    ("redo", "Edit", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo"),
    ("accept_class", "Edit", "&Accept Model Mask for Selected Class", ("A",), "The model's mask becomes the class's"),
    ("accept_all", "Edit", "Accept Model Masks for &All Classes", ("Shift+A",), "The whole draft becomes the labels"),
    ("specks", "Edit", "Remove &Specks", ("Shift+S",), "Drop label regions smaller than the speck size"),
    ("clear", "Edit", "&Clear Labels", ("Ctrl+Shift+Backspace",), "Everything becomes background"),
    ("zoom_in", "View", "Zoom &In", ("+", "="), "Zoom in (also the mouse wheel)"),
    ("zoom_out", "View", "Zoom &Out", ("-",), "Zoom out"),
    ("fit", "View", "&Fit to Window", ("0",), "Show the whole image"),
    ("next", "View", "&Next Image", ("D", "PgDown"), "Next image in the list"),
    ("previous", "View", "&Previous Image", ("S", "PgUp"), "Previous image in the list"),
    ("next_unlabeled", "View", "Next &Unlabeled Image", ("N",), "Next image without labels"),
    ("find_image", "View", "&Find Image…", ("Ctrl+F",), "Search the image list by name"),
    ("brush", "Tools", "&Brush", ("B",), "Paint the selected class"),
    ("eraser", "Tools", "&Eraser", ("E",), "Paint background"),
    ("refine", "Tools", "&Click to Refine", ("R",), "Left click grows the class along image edges, right cuts"),
    ("polygon", "Tools", "P&olygon / Lasso", ("P",), "Click corners or drag a lasso; Enter or double-click fills"),
    ("fill", "Tools", "&Fill Region", ("F",), "Fill the similar-coloured region under the cursor"),
    ("pan", "Tools", "&Pan", ("H",), "Drag the view"),
    ("bigger", "Tools", "Bigger Brush", ("]",), "Brush 25 % bigger (on screen)"),
    ("smaller", "Tools", "Smaller Brush", ("[",), "Brush 20 % smaller (on screen)"),
    ("class_1", "Tools", "Class 1…9", tuple(str(i) for i in range(1, 10)), "Select class 1…9 to paint"),
    ("review", "Review", "&Review Done Images", ("Ctrl+Shift+V",), "Step through the done images not accepted yet"),
    ("review_accept", "Review", "&Accept and Next", ("Ctrl+Shift+Return",), "The image stays done; next one"),
    ("review_back", "Review", "&Send Back with a Note…", ("Ctrl+Shift+R",), "The image needs review; next one"),
    ("help", "Help", "&Keyboard and Mouse…", ("F1",), "This sheet"),
]

MOUSE: list[tuple[str, str]] = [
    ("Left drag", "Paint with the brush or eraser; lasso with the polygon tool"),
    ("Left / right click (refine)", "Grow / cut the selected class along image edges"),
    ("Left click (fill)", "Fill the region under the cursor with the selected class (right click: erase it)"),
    ("Middle drag, or Space + left drag", "Pan"),
    ("Wheel", "Zoom about the cursor"),
    ("Escape", "Cancel a polygon being drawn"),
    ("Enter (in the class field)", "Add the class; the canvas takes the keyboard back"),
]


def keys(action_id: str) -> tuple[str, ...]:
    """The keys of one action; a KeyError names an id missing from the table."""
    for row in SHORTCUTS:
        if row[0] == action_id:
            return row[3]
    raise KeyError(action_id)


def sheet_html() -> str:
    """The shortcut sheet, grouped by menu, as HTML for the Help dialog."""
    parts = ["<style>td{padding:2px 10px 2px 0} th{text-align:left;padding-top:8px}</style><table>"]
    menu = None
    for _id, group, text, ks, what in SHORTCUTS:
        if group != menu:
            parts.append(f"<tr><th colspan=3>{escape(group)}</th></tr>")
            menu = group
        shown = "…".join((ks[0], ks[-1])) if _id == "class_1" else ", ".join(ks)
        parts.append(f"<tr><td><b>{escape(shown)}</b></td><td>{escape(text.replace('&', ''))}</td>"
                     f"<td style='color:#777'>{escape(what)}</td></tr>")
    parts.append("<tr><th colspan=3>Mouse</th></tr>")
    for gesture, what in MOUSE:
        parts.append(f"<tr><td><b>{escape(gesture)}</b></td><td colspan=2>{escape(what)}</td></tr>")
    parts.append("</table>")
    return "".join(parts)
