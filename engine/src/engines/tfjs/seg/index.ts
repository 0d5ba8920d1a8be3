/**
 * Segmentation trainings on the tfjs engine (`task segmentation` files): the small U-Net
 * (unet.ts) and its training loop, best-validation weights and test metrics (train-seg.ts).
 */
export { trainSegmentation, predictMasks, type SegRunOutcome } from './train-seg';
export { createUNet, instanceNorm, unetPadding, UNET_SIDE_MULTIPLE, type UNet, type UNetOptions } from './unet';
