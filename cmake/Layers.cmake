# Project code is built with warnings as errors; generated protobuf code is not.
set(STARGATE_WARNINGS -Wall -Wextra -Wpedantic -Werror -Wno-unused-parameter)
if(STARGATE_UNITY AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # In a unity batch every file but the batch itself counts as a header to g++, which then flags
  # each class using a file's anonymous-namespace types as an ODR risk it is not.
  list(APPEND STARGATE_WARNINGS -Wno-subobject-linkage)
endif()
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
  stargate_unity(${name})
endfunction()

# stargate_unity(TARGET): compile TARGET's sources in batches of STARGATE_UNITY_BATCH files.
function(stargate_unity target)
  if(STARGATE_UNITY)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${STARGATE_UNITY_BATCH})
  endif()
endfunction()
