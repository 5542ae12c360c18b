import { project } from '../../jest.preset.js';

export default project('infrastructure', 'libs/infrastructure');
