# Finds Arrow C++ with Parquet for seqrec: the libraries and headers the pyarrow wheel carries (scripts/setup.sh
# installs it into the project's venv, SEQREC_PYTHON), asked for pyarrow.get_include() and get_library_dirs().
# Defines the imported targets seqrec::arrow and seqrec::parquet and SEQREC_ARROW_LIB_DIR (for the RPATH).
execute_process(
  COMMAND "${SEQREC_PYTHON}" -c "import pyarrow as pa; print(pa.get_include()); print(pa.get_library_dirs()[0]); print(pa.__version__)"
  OUTPUT_VARIABLE _seqrec_arrow OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_VARIABLE _seqrec_arrow_error RESULT_VARIABLE _seqrec_arrow_rc)
if(NOT _seqrec_arrow_rc EQUAL 0)
  message(FATAL_ERROR "${SEQREC_PYTHON} cannot import pyarrow (${_seqrec_arrow_error}): run scripts/setup.sh, which "
                      "installs the pyarrow wheel whose Arrow C++ seqrec links for Parquet")
endif()
string(REPLACE "\n" ";" _seqrec_arrow "${_seqrec_arrow}")
list(GET _seqrec_arrow 0 SEQREC_ARROW_INCLUDE_DIR)
list(GET _seqrec_arrow 1 SEQREC_ARROW_LIB_DIR)
list(GET _seqrec_arrow 2 SEQREC_ARROW_VERSION)
# The wheel ships versioned sonames only (libarrow.so.2600): link those files by path.
file(GLOB _seqrec_libarrow "${SEQREC_ARROW_LIB_DIR}/libarrow.so.[0-9]*")
file(GLOB _seqrec_libparquet "${SEQREC_ARROW_LIB_DIR}/libparquet.so.[0-9]*")
if(NOT _seqrec_libarrow OR NOT _seqrec_libparquet)
  message(FATAL_ERROR "pyarrow ${SEQREC_ARROW_VERSION} in ${SEQREC_ARROW_LIB_DIR} has no libarrow/libparquet")
endif()
list(GET _seqrec_libarrow 0 _seqrec_libarrow)
list(GET _seqrec_libparquet 0 _seqrec_libparquet)
add_library(seqrec::arrow SHARED IMPORTED)
set_target_properties(seqrec::arrow PROPERTIES IMPORTED_LOCATION "${_seqrec_libarrow}"
                      INTERFACE_INCLUDE_DIRECTORIES "${SEQREC_ARROW_INCLUDE_DIR}")
add_library(seqrec::parquet SHARED IMPORTED)
set_target_properties(seqrec::parquet PROPERTIES IMPORTED_LOCATION "${_seqrec_libparquet}"
                      INTERFACE_LINK_LIBRARIES seqrec::arrow)
message(STATUS "Arrow C++ ${SEQREC_ARROW_VERSION} (Parquet) from the pyarrow wheel: ${SEQREC_ARROW_LIB_DIR}")
