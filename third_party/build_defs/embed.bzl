"""Compiles a text file into a C++ string constant."""

def tsp_embed_text(name, src, symbol):
    """Generates `name`.cc defining `extern const char symbol[]` with src's text.

    Args:
      name: the genrule, and the generated file's base name.
      src: the text file (must not contain `)tsp_text"`).
      symbol: the C++ name of the constant.
    """
    native.genrule(
        name = name,
        srcs = [src],
        outs = [name + ".cc"],
        cmd = ("(echo 'extern const char {s}[];'; " +
               "echo 'const char {s}[] = R\"tsp_text('; " +
               "cat $<; echo ')tsp_text\";') > $@").format(s = symbol),
    )
