#!/bin/sh
# Writes a C++ table of the given model textprotos: {name, text} pairs.
out="$1"
shift
{
  echo 'extern const char* const kTspBuiltinModels[][2];'
  echo 'const char* const kTspBuiltinModels[][2] = {'
  for file in "$@"; do
    name="$(basename "${file}" .textproto)"
    echo "  {\"${name}\", R\"tsp_model("
    cat "${file}"
    echo ')tsp_model"},'
  done
  echo '  {nullptr, nullptr}};'
} > "${out}"
