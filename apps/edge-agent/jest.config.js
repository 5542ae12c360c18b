import { project } from '../../jest.preset.js';

export default project('edge-agent', 'apps/edge-agent');
