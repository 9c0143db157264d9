# Project code is built with warnings as errors; generated protobuf code is not.
set(STARGATE_WARNINGS -Wall -Wextra -Wpedantic -Werror -Wno-unused-parameter)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # g++ 12 reports false -Warray-bounds / -Wstringop-overflow / -Wrestrict inside libstdc++ at -O2
  # (GCC PR 107852, PR 105329).
  list(APPEND STARGATE_WARNINGS -Wno-array-bounds -Wno-stringop-overflow -Wno-stringop-overread -Wno-restrict)
endif()

# stargate_layer(NAME DIR [GLOB_EXCLUDE regex] [DEPS ...])
# One static library per layer; sources are the .cpp files below DIR (so adding a file needs no CMake edit).
function(stargate_layer name dir)
  cmake_parse_arguments(L "" "EXCLUDE;INCLUDE_ONLY" "DEPS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${dir}/*.cpp)
  if(L_EXCLUDE)
    list(FILTER srcs EXCLUDE REGEX "${L_EXCLUDE}")
  endif()
  if(L_INCLUDE_ONLY)
    list(FILTER srcs INCLUDE REGEX "${L_INCLUDE_ONLY}")
  endif()
  if(NOT srcs)  # a layer whose first file has not been written yet
    set(srcs ${PROJECT_SOURCE_DIR}/cmake/empty.cpp)
  endif()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(${name} PRIVATE ${STARGATE_WARNINGS})
  target_link_libraries(${name} PUBLIC ${L_DEPS})
endfunction()
