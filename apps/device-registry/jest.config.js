import { project } from '../../jest.preset.js';

export default project('device-registry', 'apps/device-registry');
