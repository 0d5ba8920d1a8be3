/**
 * GAN trainings on the tfjs engine (`task gan` files): the class-conditional DCGAN (nets.ts),
 * its training loop and metrics (train-gan.ts), the cached digit classifier (classifier.ts)
 * and the Fréchet distance (frechet.ts).
 */
export { trainGan, ganMetrics, type GanRunOutcome } from './train-gan';
export { digitClassifier, classifierFile, cacheRoot, DEFAULT_CLASSIFIER } from './classifier';
export { frechetDistance, frechetOfFeatures, meanCov, sqrtPsd, symmetricEigen } from './frechet';
