/** Export of a loss to a self-contained Python module (PyTorch, JAX, Keras/TensorFlow). */
export { exportLoss, exportSource, ExportError, TARGETS, type ExportOptions, type ExportResult, type ExportedParam } from './exporter';
export { EXPORT_TARGETS, type ExportTarget, type Template, type TemplateTable, type TargetSpec, type Code, type Kind } from './types';
export { PYTORCH_TEMPLATES } from './pytorch';
export { JAX_TEMPLATES } from './jax';
export { KERAS_TEMPLATES } from './keras';
