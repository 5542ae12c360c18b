import { project } from '../../jest.preset.js';

export default project('validator', 'apps/validator');
