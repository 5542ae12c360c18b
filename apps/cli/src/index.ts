// The composition root, for the e2e suites: the whole control plane in one process.
export { startControlPlane, type ControlPlane, type ControlPlaneOptions, type ControlPlaneSecrets } from './embedded/control-plane.js';
