"""BuildKit progress: the rawjson stream decoder, the build model, summaries and plain output.

Pure: nothing here starts processes or touches the network. The buildx runner feeds bytes to a
`StreamDecoder`, applies its events to a `BuildModel`, and the views read the model.
"""

from mab.progress.decoder import (
    DecoderStats,
    Event,
    SolveStatus,
    StreamDecoder,
    TextLine,
    Vertex,
    VertexLog,
    VertexStatus,
    VertexWarning,
)

__all__ = [
    "DecoderStats",
    "Event",
    "SolveStatus",
    "StreamDecoder",
    "TextLine",
    "Vertex",
    "VertexLog",
    "VertexStatus",
    "VertexWarning",
]
