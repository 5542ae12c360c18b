import { project } from '../../jest.preset.js';

export default project('domain', 'libs/domain');
