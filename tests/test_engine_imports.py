import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Imported only from inside chroma_store's functions; it imports chromadb at its top.
TOP_LEVEL_ADAPTERS = ("engine.memory.chroma_embedding",)
HEAVY = ("crewai", "litellm", "chromadb", "langchain_openai", "langchain_text_splitters")


def test_importing_every_engine_module_loads_no_heavy_library() -> None:
    # A fresh interpreter: this test process may already hold them from other tests.
    script = (
        "import importlib, pkgutil, sys, engine\n"
        "for info in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        f"    if info.name not in {TOP_LEVEL_ADAPTERS!r}:\n"
        "        importlib.import_module(info.name)\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
