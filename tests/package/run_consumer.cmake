# cmake -P script: install seqmix into a scratch prefix (find_package mode) and build and
# run the consumer against it; or build the consumer with add_subdirectory.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
endfunction()
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/seqmix-build" -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix
      -DSEQMIX_BUILD_TESTS=OFF -DSEQMIX_BUILD_BENCHMARKS=OFF -DSEQMIX_BUILD_EXAMPLES=OFF -DSEQMIX_BUILD_TOOLS=OFF
      -DSEQMIX_INSTALL=ON)
  run(${CMAKE_COMMAND} --install "${WORK_DIR}/seqmix-build")
  run(${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/consumer-build" -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
      -DCONSUMER_MODE=find_package -DCMAKE_BUILD_TYPE=Release)
else()
  run(${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/consumer-build" -DSEQMIX_SOURCE_DIR=${SOURCE_DIR}
      -DCONSUMER_MODE=add_subdirectory -DCMAKE_BUILD_TYPE=Release)
endif()
run(${CMAKE_COMMAND} --build "${WORK_DIR}/consumer-build")
run("${WORK_DIR}/consumer-build/consumer")
