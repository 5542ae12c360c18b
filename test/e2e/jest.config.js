import { project } from '../../jest.preset.js';

export default project('e2e', 'test/e2e');
