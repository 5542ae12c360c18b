import { project } from '../../jest.preset.js';

export default project('monitor', 'apps/monitor');
