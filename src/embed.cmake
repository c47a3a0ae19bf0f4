# Turn data files (the diagnosis rules, the walkthrough playbooks) into one C
# source of string literals, so they ship inside the binary (no xxd at build
# time: pure CMake).
# cmake -DOUT=file.c -DFILES="a.rules;b.rules" -DHEADER=rules.h
#       -DTYPE=datafiles_builtin -DARRAY=rules_builtin_files -DCOUNT=rules_builtin_count
#       -P embed.cmake
# TYPE is a struct { const char *name; const char *text; } declared in HEADER.
set(body "#include \"${HEADER}\"\n\nconst struct ${TYPE} ${ARRAY}[] = {\n")
set(count 0)
foreach(f IN LISTS FILES)
  file(READ "${f}" text)
  get_filename_component(name "${f}" NAME)
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  string(REPLACE "\t" "\\t" text "${text}")
  string(REPLACE "\r" "" text "${text}")
  string(REPLACE "\n" "\\n\"\n    \"" text "${text}")
  string(APPEND body "  { \"${name}\",\n    \"${text}\" },\n")
  math(EXPR count "${count} + 1")
endforeach()
string(APPEND body "  { 0, 0 }\n};\n\nconst size_t ${COUNT} = ${count};\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
