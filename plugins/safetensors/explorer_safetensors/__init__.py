"""safetensors for Embedding Explorer: the declaration only; the reader is imported on first use."""

from explorer.plugins.api import Contribution

CONTRIBUTIONS = [
    Contribution(
        "loader", "safetensors", "explorer_safetensors.reader:load",
        sniff="explorer_safetensors.reader:sniff", extensions=(".safetensors",),
        memory_mapped=True,
        description="safetensors (Hugging Face): a 2-D tensor as the vectors, memory-mapped; "
                    "1-D tensors of the same length as metadata"),
]
