"""nowplaying: #NowPlaying posts into clean listening data, charts and audio-feature analytics."""

__version__ = "0.1.0"
