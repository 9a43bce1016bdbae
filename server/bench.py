"""Language-server benchmark: `python -m nnlint.server.bench [--edits 50] [--files 50]`.

Drives `python -m nnlint server` over stdio with pygls' client and prints, for generated
1,000- and 5,000-line training scripts:
- didChange -> publishDiagnostics latency minus the debounce (median, p95 over N edits);
- initialize -> first diagnostics of an opened file;
- the server's RSS after opening N such files (Linux /proc);
- cancellation: latency to the newest version's publish when 1, 10 or 100 edits are queued
  in front of it (sent back to back): it must not grow with the queue, since queued edits
  are not each analysed.
Targets: p95 < 50 ms at 1,000 lines; first diagnostics < 1 s; RSS < 200 MB; the newest
version's latency with 1,000 queued edits < that with 1 + 1 ms per queued edit.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as t
from pygls.lsp.client import LanguageClient

from nnlint.server import pygls_adapter

HEADER = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

"""

BLOCK = """\

class Block{i}(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 4)

    def forward(self, x):
        x = F.relu(self.norm(self.fc(x)))
        x = F.dropout(x, p=0.1{training})
        return self.head(x)


def train_{i}(model, loader, optimizer, epochs=1):
    model.train()
    total = 0.0
    for epoch in range(epochs):
        for inputs, targets in loader:
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = F.cross_entropy(outputs, targets)
            loss.backward()
            optimizer.step()
            total += loss.item()
    return total

"""


TRAINER_HEADER = HEADER + """\

class Trainer:
    def __init__(self, model, loader, optimizer):
        self.model = model
        self.loader = loader
        self.optimizer = optimizer
"""

TRAINER_METHOD = """\

    def train_{i}(self, epochs=1):
        self.model.train()
        total = 0.0
        for epoch in range(epochs):
            for inputs, targets in self.loader:
                self.optimizer.zero_grad()
                outputs = self.model(inputs)
                loss = F.cross_entropy(outputs, targets)
                loss.backward()
                self.optimizer.step()
                total += loss.item()
        return total
"""


def trainer_script(lines: int) -> str:
    """A file of `lines` lines that is one class whose methods share its attributes: every
    statement is linked to every other, so each edit is analysed in full (`training_script`
    is made of independent parts, whose findings an edit mostly keeps)."""
    parts = [TRAINER_HEADER]
    count = TRAINER_HEADER.count("\n")
    i = 0
    while count < lines:
        method = TRAINER_METHOD.format(i=i)
        parts.append(method)
        count += method.count("\n")
        i += 1
    return "".join(parts)


def training_script(lines: int) -> str:
    parts = [HEADER]
    count = HEADER.count("\n")
    i = 0
    while count < lines:
        block = BLOCK.format(i=i, training="" if i % 5 == 0 else ", training=self.training")
        parts.append(block)
        count += block.count("\n")
        i += 1
    return "".join(parts)


class Bench:
    def __init__(self, debounce_ms: int) -> None:
        self.client = LanguageClient("nnlint-bench", "1")
        self.debounce_ms = debounce_ms
        self.arrivals: dict[tuple[str, int | None], float] = {}
        self.waiters: dict[tuple[str, int | None], asyncio.Future] = {}

        @self.client.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(params: t.PublishDiagnosticsParams) -> None:
            key = (params.uri, params.version)
            self.arrivals[key] = time.perf_counter()
            waiter = self.waiters.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(len(params.diagnostics))

        @self.client.feature(t.WORKSPACE_CONFIGURATION)
        def configuration(params: t.ConfigurationParams) -> list[object]:
            return [None for _ in params.items]

    def expect(self, uri: str, version: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiters[(uri, version)] = future
        return future

    async def start(self, root: Path) -> float:
        await self.client.start_io(sys.executable, "-m", "nnlint", "server")
        started = time.perf_counter()
        await self.client.initialize_async(
            t.InitializeParams(
                capabilities=t.ClientCapabilities(
                    workspace=t.WorkspaceClientCapabilities(configuration=True),
                ),
                root_uri=root.as_uri(),
                initialization_options={"debounceMs": self.debounce_ms},
            )
        )
        self.client.initialized(t.InitializedParams())
        return started

    def open(self, uri: str, text: str) -> asyncio.Future:
        waiter = self.expect(uri, 1)
        self.client.text_document_did_open(
            t.DidOpenTextDocumentParams(t.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
        )
        return waiter

    async def edits(self, uri: str, text: str, count: int) -> list[float]:
        """Edit a line in the middle of the file `count` times; each latency minus debounce."""
        target, column = _edit_point(text)
        latencies = []
        for version in range(2, count + 2):
            waiter = self.expect(uri, version)
            sent = time.perf_counter()
            self.send_digit_edit(uri, version, target, column)
            await asyncio.wait_for(waiter, 30)
            latencies.append((self.arrivals[(uri, version)] - sent) * 1000 - self.debounce_ms)
        return latencies

    def send_digit_edit(self, uri: str, version: int, line: int, column: int) -> None:
        """One keystroke: replace the digit at (line, column) with version % 10."""
        self.client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    t.TextDocumentContentChangePartial(
                        range=t.Range(t.Position(line, column), t.Position(line, column + 1)),
                        text=str(version % 10),
                    )
                ],
            )
        )

    async def queued(self, uri: str, text: str, queued: int, first_version: int) -> float:
        """Send `queued` edits back to back; the latency (minus debounce) from the last one
        sent to its publish. Returns (latency ms)."""
        target, column = _edit_point(text)
        last = first_version + queued - 1
        waiter = self.expect(uri, last)
        sent = 0.0
        for version in range(first_version, last + 1):
            sent = time.perf_counter()
            self.send_digit_edit(uri, version, target, column)
        await asyncio.wait_for(waiter, 60)
        return (self.arrivals[(uri, last)] - sent) * 1000 - self.debounce_ms

    def rss_mb(self) -> float | None:
        server = pygls_adapter.client_process(self.client)
        if server is None:
            return None
        try:
            status = Path(f"/proc/{server.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
        finally:
            await self.client.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def run(edits: int, files: int, debounce_ms: int) -> int:
    scripts = {n: training_script(n) for n in (1000, 5000)}
    ok = True
    with tempfile.TemporaryDirectory(prefix="nnlint-bench-") as folder:
        root = Path(folder)
        bench = Bench(debounce_ms)
        started = await bench.start(root)
        first_uri = (root / "train_1000.py").as_uri()
        await asyncio.wait_for(bench.open(first_uri, scripts[1000]), 30)
        first = (bench.arrivals[(first_uri, 1)] - started) * 1000
        print(f"initialize -> first diagnostics (1,000 lines): {first:.0f} ms  (target < 1000 ms)")
        ok &= first < 1000
        for size, text in scripts.items():
            uri = (root / f"edit_{size}.py").as_uri()
            found = await asyncio.wait_for(bench.open(uri, text), 60)
            latencies = await bench.edits(uri, text, edits)
            median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
            target = "  (target p95 < 50 ms)" if size == 1000 else ""
            print(
                f"didChange -> publishDiagnostics - debounce, {size:,} lines, {found} findings, "
                f"{edits} edits: median {median:.1f} ms, p95 {p95:.1f} ms{target}"
            )
            if size == 1000:
                ok &= p95 < 50
        uri = (root / "queued_1000.py").as_uri()
        await asyncio.wait_for(bench.open(uri, scripts[1000]), 60)
        version, medians = 2, {}
        for queued in (1, 10, 100, 1000):
            latencies = []
            for _ in range(5):
                latencies.append(await bench.queued(uri, scripts[1000], queued, version))
                version += queued
            medians[queued] = statistics.median(latencies)
        print(
            "newest version's latency - debounce, 1,000 lines, with N edits queued before it: "
            + ", ".join(f"N={n}: {ms:.1f} ms" for n, ms in medians.items())
            + "  (target: N=1000 < N=1 + 1 ms per queued edit; each queued edit is applied, not analysed)"
        )
        ok &= medians[1000] < medians[1] + 1000 * 1.0
        waiters = [bench.open((root / f"many_{i}.py").as_uri(), scripts[1000]) for i in range(files)]
        await asyncio.wait_for(asyncio.gather(*waiters), 300)
        rss = bench.rss_mb()
        if rss is not None:
            print(f"server RSS after opening {files} files of 1,000 lines: {rss:.0f} MB  (target < 200 MB)")
            ok &= rss < 200
        await bench.stop()
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnlint.server.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--debounce-ms", type=int, default=250)
    args = parser.parse_args(argv)
    return asyncio.run(run(args.edits, args.files, args.debounce_ms))


def _edit_point(text: str) -> tuple[int, int]:
    """Where the benchmark types: the digit of an `epochs=1` in the second half of the script."""
    lines = text.splitlines()
    target = next(n for n in range(len(lines) // 2, len(lines)) if "epochs=1" in lines[n])
    return target, lines[target].index("epochs=1") + len("epochs=")


if __name__ == "__main__":
    sys.exit(main())
