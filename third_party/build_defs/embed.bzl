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

def tsp_embed_named_texts(name, srcs, symbol):
    """Generates `name`.cc with a table of text files compiled into binaries.

    The table is `extern const char* const symbol[][2]`: {base name, text}
    pairs (the base name is the file name without its directory and its last
    extension), ending with {nullptr, nullptr}; isa/builtin_texts.h reads it.

    Args:
      name: the genrule, and the generated file's base name.
      srcs: the text files (none may contain `)tsp_text"`).
      symbol: the C++ name of the table.
    """
    native.genrule(
        name = name,
        srcs = srcs,
        outs = [name + ".cc"],
        cmd = ("(echo 'extern const char* const " + symbol + "[][2];'; " +
               "echo 'const char* const " + symbol + "[][2] = {'; " +
               "for f in $(SRCS); do b=$${f##*/}; " +
               "echo \"  {\\\"$${b%.*}\\\", R\\\"tsp_text(\"; cat $$f; echo ')tsp_text\"},'; done; " +
               "echo '  {nullptr, nullptr}};') > $@"),
    )
