"""JSON and HTTP codecs: the one cattrs converter (`convert`), the generated
decoders behind it (`decoders`), the compiled request bodies (`bodies`) and the
building of each call's `httpx.Request` (`wire`)."""
