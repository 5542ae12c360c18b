import { project } from '../../jest.preset.js';

export default project('model-registry', 'apps/model-registry');
