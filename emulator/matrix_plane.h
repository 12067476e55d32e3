#ifndef TSP_EMULATOR_MATRIX_PLANE_H_
#define TSP_EMULATOR_MATRIX_PLANE_H_

// The arithmetic of one MXM plane: a weight buffer filled row by row from the
// streams, installed weights, and an accumulator (isa/README.md, "MXM").
// Row i of the weights produces output lane i: y[i] = sum_j W[i][j] * x[j];
// each Multiply's product goes to one of the plane's accumulators.
// int8/uint8 products accumulate exactly in int32 (wrapping); fp16 products
// are exact, and each 320-element dot product is summed exactly and rounded
// once to fp32 before it is added (in fp32) to the accumulator.

#include <cstdint>
#include <vector>

#include "isa/program.pb.h"

namespace tsp::emulator {

class MatrixPlane {
 public:
  explicit MatrixPlane(int size) : size_(size) {}

  // Writes rows [row, row + rows) of the buffer from `planes`, `rows`
  // consecutive byte-plane groups of ElementBytes(type) planes each.
  void LoadRows(isa::ElementType type, int64_t row, int64_t rows, const uint8_t* planes);
  // Takes a copy of the buffer as it is now (InstallWeights issues) ...
  void StageInstall();
  // ... and makes it the installed weights (its result lands).
  void CommitInstall();
  // Computes W x with the installed weights into `product`, 4 byte planes
  // (int32 for int8/uint8, fp32 for fp16); `planes` is the activation group.
  void Multiply(isa::ElementType type, const uint8_t* planes, uint8_t* product) const;
  // Adds a product of Multiply to accumulator `accumulator`.
  void Accumulate(int accumulator, isa::ElementType type, const uint8_t* product);
  // Writes accumulator `accumulator` (4 byte planes: int32 or fp32) to `out` and clears it.
  void ReadOutAndClear(int accumulator, uint8_t* out);

 private:
  int size_;
  isa::ElementType buffer_type_ = isa::ELEMENT_TYPE_UNSPECIFIED;
  std::vector<uint16_t> buffer_;   // Raw weight bits, row-major.
  std::vector<uint16_t> staged_;
  isa::ElementType staged_type_ = isa::ELEMENT_TYPE_UNSPECIFIED;
  isa::ElementType weights_type_ = isa::ELEMENT_TYPE_UNSPECIFIED;
  std::vector<int16_t> int_weights_;   // int8/uint8 weights, widened.
  std::vector<uint16_t> fp16_weights_;
  // One accumulator's sums (made when first used; a program uses few).
  struct Sums {
    bool is_float = false;
    std::vector<int32_t> ints;
    std::vector<float> floats;
  };
  Sums& SumsOf(int accumulator);
  std::vector<Sums> accumulators_;
};

// The exact sum of products of fp16 pairs, rounded once to fp32 (ties to
// even). NaN or infinity among the inputs gives the IEEE fp32 result of the
// plain sum. Exposed for tests.
float ExactFp16DotProduct(const uint16_t* x, const uint16_t* y, int n);

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_MATRIX_PLANE_H_
