"""Cross-file analysis: each open document's project index (open buffers overlaid), jedi
started in the background, and re-analysis when a module a document reads changes.

A mixin of `NnlintServer` (core.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import unquote

from pygls.uris import to_fs_path

from nnlint.project import ProjectIndex, configure_shared_indexes, shared_index


def fs_path(uri: str) -> Path | None:
    """The file a `file:` URI names (pygls' reading: drive letters, UNC shares); None for
    other schemes."""
    path = to_fs_path(uri)
    return Path(path) if path else None


def project_at(path: Path) -> ProjectIndex | None:
    try:
        return shared_index(path)
    except (OSError, ValueError, RuntimeError):
        return None


class CrossFile:
    def project_for(self, uri: str) -> ProjectIndex | None:
        """The engine's index of the document's project (open buffers overlaid), if it is a
        file. Remembered per open document (finding the root costs a walk up the folders,
        on every keystroke otherwise); forgotten on close and when project files change."""
        key = unquote(uri)
        if key in self.projects:
            return self.projects[key]
        path = self.workspace.get_text_document(uri).path if self.is_open(uri) else None
        if not path or not uri.startswith("file:"):
            return None
        project = project_at(Path(path))
        if project is None:
            return None
        if key in self.docs:
            self.projects[key] = project
        return project

    def overlay(self, uri: str, drop: bool = False) -> None:
        """Tell the project index about an open buffer (or its closing), and re-analyse the
        open documents that import it."""
        project = self.project_for(uri) if not drop else self._closing_project(uri)
        if project is None:
            return
        path = Path(self.workspace.get_text_document(uri).path)
        try:
            if drop:
                project.drop_overlay(path)
            else:
                doc = self.workspace.get_text_document(uri)
                project.set_overlay(path, doc.version, doc.source)
        except (OSError, ValueError, RuntimeError):
            return
        for state in list(self.docs.values()):
            if state.uri == uri or state.semantic is None:
                continue
            try:
                dependent = project.depends_on(state.semantic, path)
            except Exception:  # noqa: BLE001
                dependent = False
            if dependent and not self.pull:
                config = self.config_for(state.uri)
                if config.editor.run == "onType":
                    self.schedule(state.uri, config.editor.debounce_ms / 1000)

    def start_cross_file(self) -> None:
        """Jedi answers in the background, never in front of a publish: every project
        index warms it up at once and re-analyses open documents when a lookup lands
        (the second publish for the same version)."""
        loop = asyncio.get_running_loop()
        interpreter = self.trusted_interpreter()
        self.cross_file_interpreter, self.cross_file_started = interpreter, True

        def on_create(index: ProjectIndex) -> None:
            index.listeners.append(lambda _path: loop.call_soon_threadsafe(self.refresh_all))
            index.warm_up()

        configure_shared_indexes(background=True, environment_path=interpreter, on_create=on_create)
        self.projects.clear()
        for folder in self.workspace.folders.values():
            path = fs_path(folder.uri)
            if path is not None:
                shared_index(path)

    def module_changed_on_disk(self, uri: str) -> None:
        """A project module changed outside the editor: drop its summary and re-analyse
        the open documents that read it."""
        path = fs_path(uri)
        if path is None or self.is_open(uri):
            return
        project = shared_index(path)
        project.invalidate(path)
        if any(
            state.semantic is not None and project.depends_on(state.semantic, path) for state in self.docs.values()
        ):
            self.refresh_all()

    def _closing_project(self, uri: str) -> ProjectIndex | None:
        doc = self.workspace.get_text_document(uri)
        if not doc.path or not uri.startswith("file:"):
            return None
        return project_at(Path(doc.path))
