"""Sample completions for benchmark prompts from a model with its trained adapter."""

from __future__ import annotations

from typing import Any

from train.evaluate import Problem, truncate_at_stops


def generate_completions(
    model: Any,
    tokenizer: Any,
    problems: list[Problem],
    *,
    samples: int = 1,
    temperature: float = 0.0,
    max_new_tokens: int = 512,
) -> list[dict]:
    """One row per sample: {name, completion}; greedy when temperature is 0.

    MultiPL-E prompts are code to continue, so they are encoded as plain text (no chat
    template) and the completion is cut at the problem's stop sequences.
    """
    import torch

    rows = []
    device = next(model.parameters()).device
    for problem in problems:
        inputs = tokenizer(problem.prompt, return_tensors="pt").to(device)
        sampling = (
            {"do_sample": True, "temperature": temperature}
            if temperature > 0
            else {"do_sample": False}
        )
        with torch.no_grad():
            output = model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                num_return_sequences=samples,
                pad_token_id=tokenizer.pad_token_id,
                **sampling,
            )
        prompt_len = inputs["input_ids"].shape[1]
        for sequence in output:
            text = tokenizer.decode(sequence[prompt_len:], skip_special_tokens=True)
            rows.append(
                {"name": problem.name, "completion": truncate_at_stops(text, problem.stop_tokens)}
            )
    return rows
