"""llmkit's code generator: specs/ + templates/ -> generated/ and docs/providers/.

`python -m codegen generate | check | diff OLD NEW`.
"""
