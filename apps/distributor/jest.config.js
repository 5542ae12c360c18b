import { project } from '../../jest.preset.js';

export default project('distributor', 'apps/distributor');
