// SharpTitan's small CUDA helper library: what TorchSharp does not bind and the GPU path needs (the caching
// allocator's memory statistics, device properties, streams and events). Built by build/libtorchsharp.sh against the
// same libtorch as LibTorchSharp; loaded by src/SharpTitan/Native/CudaNative.cs. Every function returns 0 on success
// (or a handle, 0 on failure) and never lets a C++ exception cross into .NET: the last error's text is kept for
// st_cuda_last_error.
#include <ATen/Tensor.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <string>

namespace {
thread_local std::string last_error;

template <typename F>
int guarded(F&& f) {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown C++ exception";
  }
  return 1;
}

int cuda_status(cudaError_t status) {
  if (status == cudaSuccess) return 0;
  last_error = cudaGetErrorString(status);
  return 1;
}
}  // namespace

extern "C" {

// The text of this thread's last failure.
const char* st_cuda_last_error() { return last_error.c_str(); }

// The caching allocator's figures for one device: reserved now and peak, allocated now and peak (bytes).
int st_cuda_memory_stats(int device, int64_t* out) {
  return guarded([&] {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
    // index 0 of each statistic array is the aggregate over pool types
    out[0] = stats.reserved_bytes[0].current;
    out[1] = stats.reserved_bytes[0].peak;
    out[2] = stats.allocated_bytes[0].current;
    out[3] = stats.allocated_bytes[0].peak;
  });
}

// Starts a new peak window (torch.cuda.reset_peak_memory_stats).
int st_cuda_reset_peak(int device) {
  return guarded([&] { c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device)); });
}

// The device's name (e.g. "NVIDIA H200"), its memory in bytes and its compute capability.
int st_cuda_device_properties(int device, char* name, int name_len, int64_t* total_bytes, int* major, int* minor) {
  return guarded([&] {
    const cudaDeviceProp* p = at::cuda::getDeviceProperties(static_cast<c10::DeviceIndex>(device));
    std::strncpy(name, p->name, static_cast<size_t>(name_len - 1));
    name[name_len - 1] = '\0';
    *total_bytes = static_cast<int64_t>(p->totalGlobalMem);
    *major = p->major;
    *minor = p->minor;
  });
}

// Free and total bytes of the device as the driver sees them (all processes).
int st_cuda_mem_get_info(int device, int64_t* free_bytes, int64_t* total_bytes) {
  return guarded([&] {
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device));
    size_t f = 0, t = 0;
    C10_CUDA_CHECK(cudaMemGetInfo(&f, &t));
    *free_bytes = static_cast<int64_t>(f);
    *total_bytes = static_cast<int64_t>(t);
  });
}

// Makes the device current for this thread (cudaSetDevice through c10, so libtorch agrees).
int st_cuda_set_device(int device) {
  return guarded([&] { c10::cuda::set_device(static_cast<c10::DeviceIndex>(device)); });
}

// libtorch's current stream on the device (the one its kernels are queued on by this thread).
void* st_cuda_current_stream(int device) {
  void* s = nullptr;
  guarded([&] { s = c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).stream(); });
  return s;
}

// A stream from libtorch's pool, for communication beside compute.
void* st_cuda_stream_from_pool(int device, int high_priority) {
  void* s = nullptr;
  guarded([&] { s = c10::cuda::getStreamFromPool(high_priority != 0, static_cast<c10::DeviceIndex>(device)).stream(); });
  return s;
}

// Makes `stream` libtorch's current stream on the device for this thread (0: the default stream).
int st_cuda_set_current_stream(int device, void* stream) {
  return guarded([&] {
    auto index = static_cast<c10::DeviceIndex>(device);
    c10::cuda::setCurrentCUDAStream(stream == nullptr
        ? c10::cuda::getDefaultCUDAStream(index)
        : c10::cuda::getStreamFromExternal(static_cast<cudaStream_t>(stream), index));
  });
}

void* st_cuda_event_create() {
  cudaEvent_t e = nullptr;
  if (cuda_status(cudaEventCreateWithFlags(&e, cudaEventDisableTiming)) != 0) return nullptr;
  return e;
}

int st_cuda_event_destroy(void* event) { return cuda_status(cudaEventDestroy(static_cast<cudaEvent_t>(event))); }

int st_cuda_event_record(void* event, void* stream) {
  return cuda_status(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)));
}

// Work queued on `stream` after this call waits for the event (no host wait).
int st_cuda_stream_wait_event(void* stream, void* event) {
  return cuda_status(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), static_cast<cudaEvent_t>(event), 0));
}

int st_cuda_event_synchronize(void* event) { return cuda_status(cudaEventSynchronize(static_cast<cudaEvent_t>(event))); }

// 1 when everything recorded before the event has run, 0 when not yet, -1 on error.
int st_cuda_event_query(void* event) {
  cudaError_t s = cudaEventQuery(static_cast<cudaEvent_t>(event));
  if (s == cudaSuccess) return 1;
  if (s == cudaErrorNotReady) return 0;
  cuda_status(s);
  return -1;
}

int st_cuda_stream_synchronize(void* stream) { return cuda_status(cudaStreamSynchronize(static_cast<cudaStream_t>(stream))); }

// Tells the caching allocator that `stream` uses the tensor's memory, so the memory is not reused before the work
// queued there has run (torch.Tensor.record_stream). `tensor` is an at::Tensor*, as TorchSharp's handles are.
int st_cuda_record_stream(void* tensor, void* stream, int device) {
  return guarded([&] {
    const at::Tensor& t = *static_cast<at::Tensor*>(tensor);
    c10::cuda::CUDACachingAllocator::recordStream(
        t.storage().data_ptr(),
        c10::cuda::getStreamFromExternal(static_cast<cudaStream_t>(stream), static_cast<c10::DeviceIndex>(device)));
  });
}

}  // extern "C"
