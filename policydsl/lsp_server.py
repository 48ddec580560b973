"""`policyc lsp`: the language server over stdio, the protocol wiring on pygls (the `lsp` extra).

Everything the server knows comes from `lsp_workspace` (buffers, parsing, `policyc check`'s
diagnostics), `symbols` (definitions, references, outline), `hover` and `completion`; this module
converts positions and shapes, and schedules work: each edit re-parses the blocks it touched,
re-checks the set and publishes the diagnostics, then rebuilds the index, all in one worker
thread, so the event loop answers meanwhile and an edit made during the work supersedes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from policydsl.completion import Item, complete
from policydsl.diagnostics import Diagnostic, PolicyError
from policydsl.formatter import format_source
from policydsl.gc_pause import age_everything, collection_paused
from policydsl.hover import hover as describe_at
from policydsl.lsp_workspace import (
    Analysis,
    Checked,
    Workspace,
    set_files,
    set_root,
    suggested_fix,
)
from policydsl.pieces import absolute
from policydsl.source import Source, Span
from policydsl.symbols import Cancelled, Index, Occurrence, Outline

VERSION = "0.1.0"
DEBOUNCE = 0.05  # seconds an edit waits for the next keystroke before the work starts
WAIT_FOR_INDEX = 30.0  # seconds a request waits for the index of the latest text
_CLIENT_LINE = re.compile(r"\r\n|\r|\n")

SYMBOL_KINDS = {
    "enum": lsp.SymbolKind.Enum,
    "member": lsp.SymbolKind.EnumMember,
    "effect": lsp.SymbolKind.Event,
    "obligation": lsp.SymbolKind.Constant,
    "annotation": lsp.SymbolKind.Property,
    "definition": lsp.SymbolKind.Constant,
    "table": lsp.SymbolKind.Struct,
    "column": lsp.SymbolKind.Field,
    "rule": lsp.SymbolKind.Function,
    "output": lsp.SymbolKind.Method,
    "attribute": lsp.SymbolKind.Field,
    "variable": lsp.SymbolKind.Variable,
    "context": lsp.SymbolKind.Struct,
    "property": lsp.SymbolKind.Interface,
    "entity": lsp.SymbolKind.Class,
}
COMPLETION_KINDS = {
    "enum": lsp.CompletionItemKind.Enum,
    "member": lsp.CompletionItemKind.EnumMember,
    "effect": lsp.CompletionItemKind.Event,
    "obligation": lsp.CompletionItemKind.Constant,
    "annotation": lsp.CompletionItemKind.Property,
    "definition": lsp.CompletionItemKind.Constant,
    "table": lsp.CompletionItemKind.Struct,
    "column": lsp.CompletionItemKind.Field,
    "attribute": lsp.CompletionItemKind.Field,
    "field": lsp.CompletionItemKind.Field,
    "keyword": lsp.CompletionItemKind.Keyword,
    "type": lsp.CompletionItemKind.TypeParameter,
    "function": lsp.CompletionItemKind.Function,
    "entity": lsp.CompletionItemKind.Class,
}


class _Set:
    """One policy set's state in the server: the latest index, what was published."""

    def __init__(self, root: str, on_disk: bool) -> None:
        self.root = root
        self.on_disk = on_disk  # a folder; else an editor buffer with no file, a set of its own
        self.generation = 0
        self.analysis: Analysis | None = None
        self.ready = asyncio.Event()
        self.published: dict[str, list[tuple[Diagnostic, lsp.Diagnostic]]] = {}
        self.uris: set[str] = set()


class PolicyServer(LanguageServer):
    """The server: documents by URI, policy sets by folder."""

    def __init__(self) -> None:
        super().__init__(
            "policyc", VERSION, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental
        )
        self.policies = Workspace()
        self.sets: dict[str, _Set] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policyc-check")
        self.uri_of: dict[str, str] = {}  # a file name (as sources name it) to its client URI
        self._tasks: set[asyncio.Future[None]] = set()

    # ---- documents and sets ------------------------------------------------------------------

    def name_of(self, uri: str) -> str:
        path = to_fs_path(uri) if uri.startswith("file:") else None
        name = str(Path(path).resolve()) if path else uri
        self.uri_of[name] = uri
        return name

    def uri(self, name: str) -> str:
        return self.uri_of.get(name) or from_fs_path(name) or name

    def set_of(self, uri: str) -> _Set:
        name = self.name_of(uri)
        on_disk = uri.startswith("file:")
        root = str(set_root(Path(name))) if on_disk else name
        state = self.sets.get(root)
        if state is None:
            state = self.sets[root] = _Set(root, on_disk)
        state.uris.add(uri)
        return state

    def schedule(self, uri: str) -> None:
        state = self.set_of(uri)
        state.generation += 1
        state.ready.clear()
        task = asyncio.ensure_future(self._refresh(state, state.generation))
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    def _snapshot(self, state: _Set) -> tuple[list[Path], dict[str, str], dict[str, int]]:
        """The set's files, the open buffers' texts and their versions, as they are now."""
        buffers: dict[str, str] = {}
        versions: dict[str, int] = {}
        for uri in list(state.uris):
            if uri in self.workspace.text_documents:
                document = self.workspace.get_text_document(uri)
                buffers[self.name_of(uri)] = document.source
                if document.version is not None:
                    versions[self.name_of(uri)] = document.version
        if not state.on_disk:
            return [], buffers, versions
        open_paths = [Path(n) for n in buffers]
        return set_files(Path(state.root), open_paths), buffers, versions

    async def _refresh(self, state: _Set, generation: int) -> None:
        try:
            await self._work(state, generation)
        except Exception as err:  # a bug must cost one check, never the session
            import traceback

            detail = "".join(traceback.format_exception(err))
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Error, detail))
            state.ready.set()

    async def _work(self, state: _Set, generation: int) -> None:
        await asyncio.sleep(DEBOUNCE)
        if generation != state.generation:
            return
        with collection_paused():  # as `load` does, for the whole of the work (see `gc_pause`)
            await self._stages(state, generation)
            age_everything()  # the work's objects: no young collection scans them all later

    async def _stages(self, state: _Set, generation: int) -> None:
        loop = asyncio.get_running_loop()
        paths, buffers, versions = self._snapshot(state)
        analysis = await loop.run_in_executor(
            self.executor, self.policies.analyse, state.root, paths, buffers
        )
        if generation != state.generation:
            return
        checked = await loop.run_in_executor(self.executor, self.policies.check, analysis)
        if generation != state.generation:
            return
        self._publish(state, checked, versions)  # first: they wait for nothing else

        def stale() -> bool:
            return generation != state.generation

        try:
            await loop.run_in_executor(self.executor, analysis.build_index, stale)
        except Cancelled:  # edited again meanwhile: the next text's index is wanted instead
            return
        if not stale():
            state.analysis = analysis
            state.ready.set()

    async def index_of(self, uri: str) -> Index | None:
        """The index of the document's latest text (waiting for it, within reason)."""
        state = self.set_of(uri)
        if state.generation == 0:  # asked before any change or open of its set: analyse it
            self.schedule(uri)
        if state.analysis is None or not state.ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.ready.wait(), WAIT_FOR_INDEX)
        return state.analysis.index if state.analysis is not None else None

    def _publish(self, state: _Set, checked: Checked, versions: dict[str, int]) -> None:
        """Every file's diagnostics, each open one's for the version of the text checked."""
        by_file: dict[str, list[tuple[Diagnostic, lsp.Diagnostic]]] = {}
        fallback = self.name_of(min(state.uris)) if state.uris else state.root
        for diag in checked.diagnostics:
            name = diag.file or fallback
            by_file.setdefault(name, []).append((diag, self.diagnostic(diag)))
        for name in set(state.published) | {self.name_of(uri) for uri in state.uris}:
            by_file.setdefault(name, [])  # cleared, or clean: a client learns the check is done
        open_names = {self.name_of(uri) for uri in state.uris}
        for name in sorted(by_file, key=lambda n: (n in open_names, n)):  # the open files last
            found = by_file[name]
            shown = [d for _, d in found]
            params = lsp.PublishDiagnosticsParams(self.uri(name), shown, versions.get(name))
            self.text_document_publish_diagnostics(params)
        state.published = {name: found for name, found in by_file.items() if found}

    # ---- positions ---------------------------------------------------------------------------

    def _units(self, line: str, col: int) -> int:
        """Code points into `line` as the client counts them (UTF-16 unless agreed otherwise)."""
        encoding = str(self.workspace.position_encoding or "utf-16")
        if encoding == "utf-32":
            return col
        prefix = line[:col]
        if encoding == "utf-8":
            return len(prefix.encode("utf-8", "surrogatepass"))
        return len(prefix.encode("utf-16-le", "surrogatepass")) // 2

    def position(self, source: Source, offset: int) -> lsp.Position:
        line, col = source.line_col(offset)
        return lsp.Position(line - 1, self._units(source.line_text(line), col - 1))

    def range(self, source: Source, start: int, end: int) -> lsp.Range:
        return lsp.Range(self.position(source, start), self.position(source, end))

    def span_range(self, span: Span) -> lsp.Range:
        return self.range(span.source, span.start, span.end)

    def offset(self, text: str, position: lsp.Position) -> int:
        """The code-point offset in `text` of a client position."""
        starts = [0, *(m.end() for m in _CLIENT_LINE.finditer(text))]
        if position.line >= len(starts):
            return len(text)
        start = starts[position.line]
        end = starts[position.line + 1] if position.line + 1 < len(starts) else len(text)
        line = text[start:end].rstrip("\r\n")
        col = 0
        while col < len(line) and self._units(line, col + 1) <= position.character:
            col += 1
        return start + col

    def location(self, occ: Occurrence | Span) -> lsp.Location:
        source, start, end = absolute(occ.source, occ.start, occ.end)
        return lsp.Location(self.uri(source.name), self.range(source, start, end))

    def diagnostic(self, diag: Diagnostic) -> lsp.Diagnostic:
        """`policyc check`'s diagnostic as the protocol shows one: the help after the message."""
        span = diag.span
        if span is not None:
            where = self.span_range(span)
        else:
            where = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
        severity = lsp.DiagnosticSeverity.Error
        if diag.severity == "warning":
            severity = lsp.DiagnosticSeverity.Warning
        related = [
            lsp.DiagnosticRelatedInformation(self.location(place), note)
            for place, note in diag.related
        ]
        message = diag.message + (f"\nhelp: {diag.help}" if diag.help else "")
        return lsp.Diagnostic(
            range=where,
            message=message,
            severity=severity,
            code=diag.code.value,
            source="policyc",
            related_information=related or None,
            data={"help": diag.help} if diag.help else None,
        )


server = PolicyServer()


def _doc(uri: str) -> tuple[str, str]:
    """(file name, text) of an open document."""
    document = server.workspace.get_text_document(uri)
    return server.name_of(uri), document.source


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(params: lsp.DidOpenTextDocumentParams) -> None:
    server.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(params: lsp.DidChangeTextDocumentParams) -> None:
    server.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(params: lsp.DidSaveTextDocumentParams) -> None:
    server.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    state = server.set_of(uri)
    state.uris.discard(uri)
    server.policies.forget(server.name_of(uri))
    if state.uris:
        server.schedule(next(iter(state.uris)))


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched(params: lsp.DidChangeWatchedFilesParams) -> None:
    for state in list(server.sets.values()):
        if state.uris:
            server.schedule(next(iter(state.uris)))


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
async def hover(params: lsp.HoverParams) -> lsp.Hover | None:
    uri = params.text_document.uri
    index = await server.index_of(uri)
    name, text = _doc(uri)
    if index is None or name not in index.files:
        return None
    source = index.files[name][0]
    found = describe_at(index, name, server.offset(text, params.position))
    if found is None:
        return None
    markdown, where = found
    return lsp.Hover(
        contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=markdown),
        range=server.range(source, where.start, where.end),
    )


async def _symbol_at(uri: str, position: lsp.Position) -> tuple[Index, Occurrence] | None:
    index = await server.index_of(uri)
    name, text = _doc(uri)
    if index is None:
        return None
    occ = index.at(name, server.offset(text, position))
    if occ is None or occ.key not in index.symbols:
        return None
    return index, occ


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
async def definition(params: lsp.DefinitionParams) -> list[lsp.Location] | None:
    found = await _symbol_at(params.text_document.uri, params.position)
    if found is None:
        return None
    index, occ = found
    return [server.location(index.symbols[occ.key].span)]


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
async def references(params: lsp.ReferenceParams) -> list[lsp.Location] | None:
    found = await _symbol_at(params.text_document.uri, params.position)
    if found is None:
        return None
    index, occ = found
    include = params.context.include_declaration
    return [server.location(o) for o in index.references(occ.key, include_decl=include)]


@server.feature(
    lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[".", "[", ":"])
)
async def completion(params: lsp.CompletionParams) -> lsp.CompletionList:
    uri = params.text_document.uri
    state = server.set_of(uri)
    index = state.analysis.index if state.analysis is not None else await server.index_of(uri)
    _, text = _doc(uri)
    items = [] if index is None else complete(index, text, server.offset(text, params.position))
    return lsp.CompletionList(is_incomplete=False, items=[_completion_item(i) for i in items])


def _completion_item(item: Item) -> lsp.CompletionItem:
    return lsp.CompletionItem(
        label=item.label,
        kind=COMPLETION_KINDS.get(item.kind, lsp.CompletionItemKind.Text),
        detail=item.detail or None,
        sort_text=("0" if item.first else "1") + item.label,
    )


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
async def document_symbols(params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    uri = params.text_document.uri
    index = await server.index_of(uri)
    name = server.name_of(uri)
    if index is None:
        return []
    return [_document_symbol(item) for item in index.outline(name)]


def _document_symbol(item: Outline) -> lsp.DocumentSymbol:
    sym = item.symbol
    children = [_document_symbol(kid) for kid in item.children]
    node_span = getattr(sym.node, "span", None) or sym.span
    whole = server.span_range(node_span)
    selection = server.span_range(sym.span)
    if not _contains(whole, selection):
        whole = selection
    return lsp.DocumentSymbol(
        name=sym.name.rsplit(".", 1)[-1] if sym.kind in ("attribute", "member") else sym.name,
        kind=SYMBOL_KINDS[sym.kind],
        range=whole,
        selection_range=selection,
        detail=sym.kind,
        children=list(children) or None,
    )


def _contains(outer: lsp.Range, inner: lsp.Range) -> bool:
    def key(p: lsp.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(outer.start) <= key(inner.start) and key(inner.end) <= key(outer.end)


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def formatting(params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
    name, text = _doc(params.text_document.uri)
    try:
        formatted = format_source(text, name)
    except PolicyError:
        return None  # text that does not parse is left as it is; the diagnostics say why
    if formatted == text:
        return []
    source = Source(name, text)
    return [lsp.TextEdit(server.range(source, 0, len(source.text)), formatted)]


@server.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
)
def code_actions(params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    """A quick fix for each diagnostic in range whose help says "did you mean"."""
    uri = params.text_document.uri
    state = server.set_of(uri)
    name = server.name_of(uri)
    actions: list[lsp.CodeAction] = []
    for diag, shown in state.published.get(name, []):
        if not _overlaps(shown.range, params.range):
            continue
        fix = suggested_fix(diag)
        if fix is None or diag.span is None:
            continue
        start, end, new = fix
        edit = lsp.TextEdit(server.range(diag.span.source, start, end), new)
        actions.append(
            lsp.CodeAction(
                title=f"Change to `{new}`",
                kind=lsp.CodeActionKind.QuickFix,
                diagnostics=[shown],
                edit=lsp.WorkspaceEdit(changes={uri: [edit]}),
                is_preferred=True,
            )
        )
    return actions


def _overlaps(a: lsp.Range, b: lsp.Range) -> bool:
    def key(p: lsp.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def serve() -> None:
    """Serve one client over stdin and stdout until it exits."""
    server.start_io()
