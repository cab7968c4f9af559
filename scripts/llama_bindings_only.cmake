# Included by llama.cpp's CMakeLists right after its project() call when llama-cpp-python is built with
#   -DCMAKE_PROJECT_llama.cpp_INCLUDE=<this file>
# llama-cpp-python forces LLAMA_BUILD_COMMON on, but its Python package loads only libllama and libggml*
# (and libmtmd, not built with -DLLAVA_BUILD=OFF): the common library (argument parsing, chat templates,
# HTTP client for the command-line tools) would be compiled and installed unused. This normal variable
# shadows the forced cache entry in llama.cpp's directory scope only.
set(LLAMA_BUILD_COMMON OFF)
