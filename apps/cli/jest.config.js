import { project } from '../../jest.preset.js';

export default project('cli', 'apps/cli');
