"""Write what Ollama needs to serve a run: a Modelfile with the V7-Tekken template, plus weights.

Two forms. `adapter` (default): the safetensors adapter next to a Modelfile whose FROM names
the base model already in Ollama (`ollama pull devstral:24b`). `merged`: the merged
safetensors model plus `convert-to-gguf.sh`, because Ollama imports a merged Mistral through
GGUF (llama.cpp's converter), which this project does not vendor.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from harvest.atomic import atomic_write_bytes
from train.errors import TrainError
from train.model import ADAPTER_WEIGHTS
from train.runs import RunPaths

# Mistral V7 Tekken in Ollama's Go template language; BOS is added by the runner.
TEKKEN_GO_TEMPLATE = """{{- range $index, $_ := .Messages }}
{{- if eq .Role "system" }}[SYSTEM_PROMPT]{{ .Content }}[/SYSTEM_PROMPT]
{{- else if eq .Role "user" }}[INST]{{ .Content }}[/INST]
{{- else if eq .Role "assistant" }}{{ .Content }}</s>
{{- end }}
{{- end }}"""

PARAMETERS = {"temperature": "0.15", "stop": ["</s>", "[INST]"]}


def modelfile(source: str, adapter: str | None = None, system: str | None = None) -> str:
    """The Modelfile text: FROM, optional ADAPTER and SYSTEM, TEMPLATE, stop parameters."""
    lines = [f"FROM {source}"]
    if adapter:
        lines.append(f"ADAPTER {adapter}")
    lines.append(f'TEMPLATE """{TEKKEN_GO_TEMPLATE}"""')
    if system:
        lines.append(f'SYSTEM """{system}"""')
    for key, value in PARAMETERS.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(
                f'PARAMETER {key} "{item}"' if key == "stop" else f"PARAMETER {key} {item}"
            )
    return "\n".join(lines) + "\n"


def gguf_script(model_dir: str, gguf: str) -> str:
    """Commands that turn the merged safetensors into the GGUF the Modelfile imports."""
    return "\n".join(
        [
            "#!/bin/sh",
            "# Needs a llama.cpp checkout: LLAMA_CPP=/path/to/llama.cpp sh convert-to-gguf.sh",
            "set -eu",
            'cd "$(dirname "$0")"',
            f'python "$LLAMA_CPP/convert_hf_to_gguf.py" {shlex.quote(model_dir)} --outtype bf16 '
            f"--outfile model-bf16.gguf",
            f'"$LLAMA_CPP/build/bin/llama-quantize" model-bf16.gguf {shlex.quote(gguf)} Q4_K_M',
            "rm model-bf16.gguf",
            "echo 'now: ollama create NAME -f Modelfile'",
            "",
        ]
    )


def export_ollama(
    paths: RunPaths,
    out: Path,
    ollama_base: str,
    merged: Path | None = None,
    system: str | None = None,
) -> list[Path]:
    """Fill `out` with a Modelfile and the adapter (or merged weights); returns what it wrote."""
    if not (paths.adapter / ADAPTER_WEIGHTS).is_file():
        raise TrainError(f"run {paths.root.name} has no finished adapter in {paths.adapter}")
    out.mkdir(parents=True, exist_ok=True)
    if merged is None:
        copy_tree(paths.adapter, out / "adapter")
        text = modelfile(ollama_base, "./adapter", system)
    else:
        copy_tree(merged, out / "model")
        atomic_write_bytes(out / "convert-to-gguf.sh", gguf_script("model", "model.gguf").encode())
        text = modelfile("./model.gguf", None, system)
    atomic_write_bytes(out / "Modelfile", text.encode())
    return sorted(p for p in out.rglob("*") if p.is_file())


def copy_tree(source: Path, target: Path) -> None:
    """Copy a directory via a temp sibling so a killed export never leaves half a model."""
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
