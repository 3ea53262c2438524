"""C code generation: emitters compute every number, Jinja templates only lay them out."""
