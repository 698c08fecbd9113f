"""The image models the Replicate emulator runs, with the input each one validates.

Input schemas as Replicate's model pages list them (black-forest-labs/flux-schnell,
black-forest-labs/flux-1.1-pro, stability-ai/sdxl): types, enums and ranges are checked
(422 "Input validation failed" with `invalid_fields`, as Replicate answers); fields a model
does not know are ignored, as Replicate's models do. The output is what the model's output
schema says: an array of file URLs (flux-schnell, SDXL) or one URL (flux-1.1-pro).
"""

from __future__ import annotations

from typing import Any

__all__ = ["IMAGE_MODELS", "image_output", "validate"]

_RATIOS = ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"]
_FORMATS = ["webp", "jpg", "png"]

# field -> ("int", lo, hi) | ("num", lo, hi) | ("enum", values) | ("bool",) | ("str",)
Schema = dict[str, tuple[Any, ...]]

_FLUX_SCHNELL: Schema = {
    "aspect_ratio": ("enum", _RATIOS),
    "num_outputs": ("int", 1, 4),
    "num_inference_steps": ("int", 1, 4),
    "seed": ("int", None, None),
    "output_format": ("enum", _FORMATS),
    "output_quality": ("int", 0, 100),
    "disable_safety_checker": ("bool",),
    "go_fast": ("bool",),
    "megapixels": ("enum", ["1", "0.25"]),
}
_FLUX_PRO: Schema = {
    "aspect_ratio": ("enum", [*_RATIOS, "custom"]),
    "width": ("int", 256, 1440),
    "height": ("int", 256, 1440),
    "safety_tolerance": ("int", 1, 6),
    "seed": ("int", None, None),
    "prompt_upsampling": ("bool",),
    "output_format": ("enum", _FORMATS),
    "output_quality": ("int", 0, 100),
}
_SDXL: Schema = {
    "negative_prompt": ("str",),
    "width": ("int", 1, None),
    "height": ("int", 1, None),
    "num_outputs": ("int", 1, 4),
    "scheduler": (
        "enum",
        ["DDIM", "DPMSolverMultistep", "HeunDiscrete", "KarrasDPM", "K_EULER_ANCESTRAL", "K_EULER", "PNDM"],
    ),
    "num_inference_steps": ("int", 1, 500),
    "guidance_scale": ("num", 1, 50),
    "prompt_strength": ("num", 0, 1),
    "seed": ("int", None, None),
    "refine": ("enum", ["no_refiner", "expert_ensemble_refiner", "base_image_refiner"]),
    "high_noise_frac": ("num", 0, 1),
    "apply_watermark": ("bool",),
}

# model -> (schema, output is a list, default output format)
IMAGE_MODELS: dict[str, tuple[Schema, bool, str]] = {
    "black-forest-labs/flux-schnell": (_FLUX_SCHNELL, True, "webp"),
    "black-forest-labs/flux-dev": ({**_FLUX_SCHNELL, "num_inference_steps": ("int", 1, 50)}, True, "webp"),
    "black-forest-labs/flux-1.1-pro": (_FLUX_PRO, False, "webp"),
    "stability-ai/sdxl": (_SDXL, True, "png"),
}


def _check(name: str, rule: tuple[Any, ...], value: Any) -> dict[str, str] | None:
    kind = rule[0]
    field = f"input.{name}"
    if kind in ("int", "num"):
        ok = isinstance(value, int) if kind == "int" else isinstance(value, (int, float))
        if not ok or isinstance(value, bool):
            return {
                "type": "invalid_type",
                "field": field,
                "description": f"Invalid type. Expected: {'integer' if kind == 'int' else 'number'}",
            }
        lo, hi = rule[1], rule[2]
        if lo is not None and value < lo:
            return {"type": "number_gte", "field": field, "description": f"Must be greater than or equal to {lo}"}
        if hi is not None and value > hi:
            return {"type": "number_lte", "field": field, "description": f"Must be less than or equal to {hi}"}
    elif kind == "enum" and value not in rule[1]:
        allowed = ", ".join(f'"{v}"' for v in rule[1])
        return {"type": "enum", "field": field, "description": f"{name} must be one of the following: {allowed}"}
    elif kind == "bool" and not isinstance(value, bool):
        return {"type": "invalid_type", "field": field, "description": "Invalid type. Expected: boolean"}
    elif kind == "str" and not isinstance(value, str):
        return {"type": "invalid_type", "field": field, "description": "Invalid type. Expected: string"}
    return None


def validate(model: str, inp: dict[str, Any]) -> list[dict[str, str]]:
    """Replicate's `invalid_fields` for this input (empty when it is valid)."""
    schema = IMAGE_MODELS[model][0]
    found = [_check(k, schema[k], v) for k, v in inp.items() if k in schema]
    return [f for f in found if f is not None]


def image_output(model: str, pid: str, inp: dict[str, Any]) -> list[str] | str:
    """The file URL(s) the model answers, one per requested output."""
    _, many, default_format = IMAGE_MODELS[model]
    ext = inp.get("output_format", default_format)
    if not many:
        return f"https://replicate.delivery/xezq/{pid}/tmp.{ext}"
    return [f"https://replicate.delivery/xezq/{pid}/out-{i}.{ext}" for i in range(inp.get("num_outputs", 1))]
