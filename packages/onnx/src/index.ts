export { exportToOnnx } from './export-to-onnx';
export type { ExportToOnnxOptions, OnnxExport } from './export-to-onnx';
export { addAttention } from './add-attention';
export type { AddAttentionOptions, AttentionValues } from './add-attention';
export type { OnnxTarget, FusedOp } from './attention-core';
export type { AttendConfig, AttendDims, ExportSource } from './read-module';
export { registerScorerExport, listScorerExports } from './scorer-export';
export type { ScorerExport, ScorerExportContext } from './scorer-export';
export { registerNormalizerExport, listNormalizerExports } from './normalizer-export';
export type { NormalizerExport, NormalizerExportContext } from './normalizer-export';
export { GraphBuilder } from './graph-builder';
export type { OpOptions } from './graph-builder';
export {
  encodeModel,
  encodeGraph,
  encodeNode,
  encodeTensor,
  encodeValueInfo,
  encodeAttribute,
  irVersionFor,
  OnnxDataType,
} from './onnx-model';
export type { OnnxModel, OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo, OnnxAttributeValue, OnnxElementType } from './onnx-model';
export { varint, concatBytes, intField, bytesField, stringField, floatField } from './protobuf-writer';
