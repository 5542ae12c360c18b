import { describe, expect, it } from '@jest/globals';
import type {
  DeviceCameOnline, DeviceDeregistered, DeviceEvent, DeviceModelActivated, DeviceRegistered, DeviceUpdateStarted, DeviceWentOffline,
} from '@hotswap/contracts';
import { foldEvents } from '../decider.js';
import { IllegalStateError, InvalidCommandError, NotFoundError } from '../errors.js';
import { DeciderSpecification } from '../testing/decider-spec.js';
import { deviceDecider, type DeviceCommand, type RegisterDevice } from './decide.js';

const t0 = '2025-03-01T10:00:00.000Z';
const now = '2025-03-01T10:05:00.000Z';
const capabilities = { cpuCores: 4, gpu: false, memoryMb: 2048, storageMb: 16000 };

function register(overrides: Partial<RegisterDevice['data']> = {}, at = now): RegisterDevice {
  return {
    type: 'RegisterDevice',
    data: { deviceId: 'cam-1', deviceType: 'camera', region: 'eu-west', capabilities, tags: ['door', 'lobby'], ...overrides },
    metadata: { now: at },
  };
}
function command<C extends DeviceCommand>(type: C['type'], data: C['data'], at = now): C {
  return { type, data, metadata: { now: at } } as C;
}

const registered: DeviceRegistered = {
  type: 'DeviceRegistered',
  data: { deviceId: 'cam-1', deviceType: 'camera', region: 'eu-west', capabilities, tags: ['door', 'lobby'], registeredAt: t0 },
};
const online: DeviceCameOnline = { type: 'DeviceCameOnline', data: { deviceId: 'cam-1', at: t0 } };
const offline: DeviceWentOffline = { type: 'DeviceWentOffline', data: { deviceId: 'cam-1', at: t0, lastHeartbeat: t0 } };
const updating: DeviceUpdateStarted = {
  type: 'DeviceUpdateStarted', data: { deviceId: 'cam-1', modelId: 'det-2.0.0', distributionId: 'dist-1', at: t0 },
};
const activated = (modelId: string, extra: Partial<DeviceModelActivated['data']> = {}): DeviceModelActivated => ({
  type: 'DeviceModelActivated', data: { deviceId: 'cam-1', modelId, swapMs: 40, at: t0, ...extra },
});
const cameOnlineNow: DeviceCameOnline = { type: 'DeviceCameOnline', data: { deviceId: 'cam-1', at: now } };

const spec = DeciderSpecification.for(deviceDecider);
const fold = (events: DeviceEvent[]) => foldEvents(deviceDecider, events);

describe('device decider', () => {
  describe('when the device is not registered', () => {
    it('registers it and brings it online', () => {
      spec.given([]).when(register()).then([{ ...registered, data: { ...registered.data, registeredAt: now } }, cameOnlineNow]);
    });

    it('records a device an operator registers ahead of its first connection, and keeps it Offline', () => {
      spec.given([]).when(register({ connected: false })).then([{ ...registered, data: { ...registered.data, registeredAt: now } }]);
    });

    it('records the artifact transport a device names among its capabilities', () => {
      spec.given([]).when(register({ capabilities: { ...capabilities, transport: 'nats' } }))
        .then([{ ...registered, data: { ...registered.data, capabilities: { ...capabilities, transport: 'nats' }, registeredAt: now } }, cameOnlineNow]);
    });

    it('records repeated tags once and only the known capabilities', () => {
      spec.given([])
        .when(register({ tags: ['door', 'door'], capabilities: { ...capabilities, extra: 1 } as never }))
        .then([{ type: 'DeviceRegistered', data: { ...registered.data, tags: ['door'], registeredAt: now } }, cameOnlineNow]);
    });

    it.each([
      ['RecordHeartbeat', { deviceId: 'cam-1' }],
      ['MarkOffline', { deviceId: 'cam-1', lastHeartbeat: t0 }],
      ['StartUpdate', { deviceId: 'cam-1', modelId: 'det-2.0.0', distributionId: 'dist-1' }],
      ['ActivateModel', { deviceId: 'cam-1', modelId: 'det-2.0.0', swapMs: 40 }],
      ['FailUpdate', { deviceId: 'cam-1', modelId: 'det-2.0.0', reason: 'checksum mismatch' }],
    ] as const)('refuses %s as not found', (type, data) => {
      spec.given([]).when(command(type, data as never)).thenThrows(NotFoundError, 'device cam-1 is not registered');
    });

    it.each([
      [{ deviceId: 'cam.1' }, 'device id "cam.1" must match'],
      [{ deviceType: '' }, 'device cam-1: deviceType is required'],
      [{ region: undefined as never }, 'device cam-1: region is required'],
      [{ capabilities: undefined as never }, 'device cam-1: capabilities { cpuCores, gpu, memoryMb, storageMb } are required'],
      [{ capabilities: { ...capabilities, cpuCores: 0 } }, 'capabilities.cpuCores must be a positive integer, got 0'],
      [{ capabilities: { ...capabilities, gpu: 'yes' as never } }, 'capabilities.gpu must be true or false'],
      [{ capabilities: { ...capabilities, memoryMb: -1 } }, 'capabilities.memoryMb must be a finite number >= 0, got -1'],
      [{ capabilities: { ...capabilities, storageMb: Infinity } }, 'capabilities.storageMb must be a finite number >= 0, got Infinity'],
      [{ capabilities: { ...capabilities, transport: 'ftp' as never } }, 'capabilities.transport must be one of http, nats, got "ftp"'],
      [{ tags: 'door' as never }, 'tags must be a list of strings'],
      [{ tags: ['door', ''] }, 'tags[1] is required'],
    ])('refuses a registration with %j', (overrides, message) => {
      spec.given([]).when(register(overrides)).thenThrows(InvalidCommandError, message);
    });

    it('refuses a registration without a valid command time', () => {
      spec.given([]).when(register({}, 'yesterday')).thenThrows(InvalidCommandError, 'metadata.now must be an ISO 8601 timestamp such as 2025-01-31T12:00:00.000Z, got "yesterday"');
    });

    it('starts Offline until it comes online', () => {
      expect(fold([registered])).toMatchObject({ status: 'Offline', deviceId: 'cam-1', registeredAt: t0 });
      expect(fold([registered, online]).status).toBe('Online');
    });

    it('skips events of an unregistered device when folding', () => {
      expect(fold([online, updating])).toStrictEqual({ status: 'Unregistered' });
    });
  });

  describe('when the device is online', () => {
    it('records nothing when an operator registers it again while it is online', () => {
      spec.given([registered, online]).when(register({ connected: false })).thenNothing();
    });

    it('records nothing for an identical registration', () => {
      spec.given([registered, online]).when(register()).thenNothing();
    });

    it('treats a device that names http as one that names no transport', () => {
      spec.given([registered, online]).when(register({ capabilities: { ...capabilities, transport: 'http' } })).thenNothing();
    });

    it('treats tags as a set when comparing registrations', () => {
      spec.given([registered, online]).when(register({ tags: ['lobby', 'door', 'lobby'] })).thenNothing();
    });

    it.each([
      [{ deviceType: 'gateway' }],
      [{ region: 'us-east' }],
      [{ capabilities: { ...capabilities, cpuCores: 8 } }],
      [{ capabilities: { ...capabilities, gpu: true } }],
      [{ capabilities: { ...capabilities, memoryMb: 4096 } }],
      [{ capabilities: { ...capabilities, storageMb: 1 } }],
      [{ capabilities: { ...capabilities, transport: 'nats' as const } }],
      [{ tags: ['door'] }],
      [{ tags: ['door', 'hall'] }],
    ])('records a registration that changes %j, without coming online again', (overrides) => {
      const { deviceId: _id, ...data } = register(overrides).data;
      spec.given([registered, online]).when(register(overrides))
        .then([{ type: 'DeviceRegistered', data: { deviceId: 'cam-1', ...data, tags: [...new Set(data.tags)], registeredAt: now } }]);
    });

    it('keeps the first registration time and takes the new attributes', () => {
      const reregistered: DeviceRegistered = { type: 'DeviceRegistered', data: { ...registered.data, region: 'us-east', registeredAt: now } };
      expect(fold([registered, online, reregistered])).toMatchObject({ status: 'Online', region: 'us-east', registeredAt: t0 });
    });

    it('records nothing for a heartbeat', () => {
      spec.given([registered, online]).when(command('RecordHeartbeat', { deviceId: 'cam-1' })).thenNothing();
    });

    it('records that it went offline, with the last heartbeat', () => {
      spec.given([registered, online]).when(command('MarkOffline', { deviceId: 'cam-1', lastHeartbeat: t0 }))
        .then([{ type: 'DeviceWentOffline', data: { deviceId: 'cam-1', at: now, lastHeartbeat: t0 } }]);
    });

    it('refuses to mark it offline without a valid last heartbeat', () => {
      spec.given([registered, online]).when(command('MarkOffline', { deviceId: 'cam-1', lastHeartbeat: 'never' }))
        .thenThrows(InvalidCommandError, 'device cam-1: lastHeartbeat must be an ISO 8601 timestamp');
    });

    it('starts an update and shows the device as Updating', () => {
      spec.given([registered, online])
        .when(command('StartUpdate', { deviceId: 'cam-1', modelId: 'det-2.0.0', distributionId: 'dist-1' }))
        .then([{ ...updating, data: { ...updating.data, at: now } }]);
      expect(fold([registered, online, updating])).toMatchObject({
        status: 'Updating', updatingTo: { modelId: 'det-2.0.0', distributionId: 'dist-1' },
      });
    });

    it.each([
      [{ modelId: '' }, 'device cam-1: modelId is required'],
      [{ distributionId: '' }, 'device cam-1: distributionId is required'],
    ])('refuses to start an update with %j', (overrides, message) => {
      spec.given([registered, online])
        .when(command('StartUpdate', { deviceId: 'cam-1', modelId: 'det-2.0.0', distributionId: 'dist-1', ...overrides }))
        .thenThrows(InvalidCommandError, message);
    });

    it('activates a first model without a previous one', () => {
      spec.given([registered, online]).when(command('ActivateModel', { deviceId: 'cam-1', modelId: 'det-1.0.0', swapMs: 12 }))
        .then([{ type: 'DeviceModelActivated', data: { deviceId: 'cam-1', modelId: 'det-1.0.0', swapMs: 12, at: now } }]);
    });

    it('activates a new model, naming the one it replaced', () => {
      spec.given([registered, online, activated('det-1.0.0')])
        .when(command('ActivateModel', { deviceId: 'cam-1', modelId: 'det-2.0.0', swapMs: 30 }))
        .then([{ type: 'DeviceModelActivated', data: { deviceId: 'cam-1', modelId: 'det-2.0.0', previousModelId: 'det-1.0.0', swapMs: 30, at: now } }]);
    });

    it('records nothing when the model reported is already current', () => {
      spec.given([registered, online, activated('det-1.0.0')])
        .when(command('ActivateModel', { deviceId: 'cam-1', modelId: 'det-1.0.0', swapMs: 30 }))
        .thenNothing();
    });

    it.each([
      [{ swapMs: -1 }, 'device cam-1: swapMs must be a finite number >= 0, got -1'],
      [{ swapMs: undefined as never }, 'swapMs must be a finite number >= 0, got nothing'],
      [{ modelId: '' }, 'device cam-1: modelId is required'],
      [{ distributionId: '' }, 'device cam-1: distributionId is required'],
    ])('refuses an activation with %j', (overrides, message) => {
      spec.given([registered, online])
        .when(command('ActivateModel', { deviceId: 'cam-1', modelId: 'det-1.0.0', swapMs: 12, ...overrides }))
        .thenThrows(InvalidCommandError, message);
    });

    it('records a failed update even without a distribution (a sync-driven swap)', () => {
      spec.given([registered, online]).when(command('FailUpdate', { deviceId: 'cam-1', modelId: 'det-2.0.0', reason: 'out of memory' }))
        .then([{ type: 'DeviceUpdateFailed', data: { deviceId: 'cam-1', modelId: 'det-2.0.0', reason: 'out of memory', at: now } }]);
    });

    it.each([
      [{ reason: '' }, 'device cam-1: reason is required'],
      [{ modelId: '' }, 'device cam-1: modelId is required'],
      [{ distributionId: ' ' }, 'device cam-1: distributionId is required'],
    ])('refuses a failure report with %j', (overrides, message) => {
      spec.given([registered, online])
        .when(command('FailUpdate', { deviceId: 'cam-1', modelId: 'det-2.0.0', reason: 'x', ...overrides }))
        .thenThrows(InvalidCommandError, message);
    });

    it('refuses a heartbeat without a valid command time', () => {
      spec.given([registered, online]).when(command('RecordHeartbeat', { deviceId: 'cam-1' }, '')).thenThrows(InvalidCommandError, 'metadata.now');
    });
  });

  describe('when the device is updating', () => {
    const history = [registered, online, activated('det-1.0.0'), updating];

    it('records nothing when the same update is started again', () => {
      spec.given(history).when(command('StartUpdate', { deviceId: 'cam-1', modelId: 'det-2.0.0', distributionId: 'dist-1' })).thenNothing();
    });

    it('records a different update that supersedes the pending one', () => {
      spec.given(history).when(command('StartUpdate', { deviceId: 'cam-1', modelId: 'det-3.0.0', distributionId: 'dist-2' }))
        .then([{ type: 'DeviceUpdateStarted', data: { deviceId: 'cam-1', modelId: 'det-3.0.0', distributionId: 'dist-2', at: now } }]);
    });

    it('records the activation with its distribution and is Online again on the new model', () => {
      const event = activated('det-2.0.0', { previousModelId: 'det-1.0.0', distributionId: 'dist-1', swapMs: 55, at: now });
      spec.given(history).when(command('ActivateModel', { deviceId: 'cam-1', modelId: 'det-2.0.0', distributionId: 'dist-1', swapMs: 55 }))
        .then([event]);
      const state = fold([...history, event]);
      expect(state).toMatchObject({ status: 'Online', currentModelId: 'det-2.0.0', lastSwapMs: 55 });
      expect(state).not.toHaveProperty('updatingTo');
    });

    it('records the activation of the model already current, since it ends the update', () => {
      const history2 = [registered, online, activated('det-2.0.0'), updating];
      spec.given(history2).when(command('ActivateModel', { deviceId: 'cam-1', modelId: 'det-2.0.0', distributionId: 'dist-1', swapMs: 1 }))
        .then([activated('det-2.0.0', { previousModelId: 'det-2.0.0', distributionId: 'dist-1', swapMs: 1, at: now })]);
    });

    it('records the failure and is Online again on the old model', () => {
      const failed = {
        type: 'DeviceUpdateFailed' as const,
        data: { deviceId: 'cam-1', modelId: 'det-2.0.0', distributionId: 'dist-1', reason: 'checksum mismatch', at: now },
      };
      spec.given(history).when(command('FailUpdate', { deviceId: 'cam-1', modelId: 'det-2.0.0', distributionId: 'dist-1', reason: 'checksum mismatch' }))
        .then([failed]);
      const state = fold([...history, failed]);
      expect(state).toMatchObject({ status: 'Online', currentModelId: 'det-1.0.0' });
      expect(state).not.toHaveProperty('updatingTo');
    });

    it('does not come online again when it re-registers', () => {
      spec.given(history).when(register()).thenNothing();
    });

    it('records that it went offline', () => {
      spec.given(history).when(command('MarkOffline', { deviceId: 'cam-1', lastHeartbeat: t0 }))
        .then([{ type: 'DeviceWentOffline', data: { deviceId: 'cam-1', at: now, lastHeartbeat: t0 } }]);
    });
  });

  describe('when the device is offline', () => {
    it('records nothing when it is marked offline again', () => {
      spec.given([registered, online, offline]).when(command('MarkOffline', { deviceId: 'cam-1', lastHeartbeat: t0 })).thenNothing();
    });

    it('comes online on a heartbeat', () => {
      spec.given([registered, online, offline]).when(command('RecordHeartbeat', { deviceId: 'cam-1' })).then([cameOnlineNow]);
    });

    it('comes online on an identical registration, without re-registering', () => {
      spec.given([registered, online, offline]).when(register()).then([cameOnlineNow]);
    });

    it('comes online on a first registration that never came online', () => {
      spec.given([registered]).when(register()).then([cameOnlineNow]);
    });

    it('keeps a started update pending while offline and resumes Updating when back', () => {
      const history = [registered, online, offline, updating];
      expect(fold(history)).toMatchObject({ status: 'Offline', updatingTo: { modelId: 'det-2.0.0' } });
      expect(fold([...history, online]).status).toBe('Updating');
    });

    it('comes back Online when an activation report arrives', () => {
      expect(fold([registered, online, offline, activated('det-1.0.0')]).status).toBe('Online');
    });
  });

  describe('when an operator updates it', () => {
    const update = (data: Omit<DeviceCommand['data'], 'deviceId'> & object) => command('UpdateDevice', { deviceId: 'cam-1', ...data } as never);

    it('records the attributes given, keeping the others, and leaves the status alone', () => {
      const event: DeviceRegistered = { type: 'DeviceRegistered', data: { ...registered.data, region: 'us-east', tags: ['hall'], registeredAt: now } };
      spec.given([registered, online]).when(update({ region: 'us-east', tags: ['hall', 'hall'] })).then([event]);
      expect(fold([registered, online, event])).toMatchObject({ status: 'Online', region: 'us-east', tags: ['hall'], deviceType: 'camera', registeredAt: t0 });
    });

    it('replaces the capabilities as a whole', () => {
      spec.given([registered]).when(update({ capabilities: { ...capabilities, gpu: true } }))
        .then([{ type: 'DeviceRegistered', data: { ...registered.data, capabilities: { ...capabilities, gpu: true }, registeredAt: now } }]);
    });

    it('records nothing when the attributes do not change', () => {
      spec.given([registered, online]).when(update({ deviceType: 'camera', tags: ['lobby', 'door'] })).thenNothing();
    });

    it('refuses an update that changes nothing at all', () => {
      spec.given([registered]).when(update({})).thenThrows(InvalidCommandError, 'give at least one of deviceType, region, capabilities, tags');
    });

    it.each([
      [{ deviceType: ' ' }, 'device cam-1: deviceType is required'],
      [{ capabilities: { ...capabilities, cpuCores: 0 } }, 'capabilities.cpuCores must be a positive integer, got 0'],
      [{ tags: [''] }, 'tags[0] is required'],
    ])('refuses an update with %j', (data, message) => {
      spec.given([registered]).when(update(data)).thenThrows(InvalidCommandError, message);
    });

    it('refuses to update an unknown device', () => {
      spec.given([]).when(update({ region: 'x' })).thenThrows(NotFoundError, 'device cam-1 is not registered');
    });
  });

  describe('when an admin deregisters it', () => {
    const deregistered: DeviceDeregistered = { type: 'DeviceDeregistered', data: { deviceId: 'cam-1', at: t0 } };
    const history = [registered, online, activated('det-1.0.0'), deregistered];

    it('records the deregistration, whatever its status', () => {
      spec.given([registered, online, updating]).when(command('DeregisterDevice', { deviceId: 'cam-1' }))
        .then([{ type: 'DeviceDeregistered', data: { deviceId: 'cam-1', at: now } }]);
      expect(fold(history)).toStrictEqual({ status: 'Deregistered', deviceId: 'cam-1', deregisteredAt: t0 });
    });

    it('refuses to deregister an unknown or already deregistered device', () => {
      spec.given([]).when(command('DeregisterDevice', { deviceId: 'cam-1' })).thenThrows(NotFoundError, 'device cam-1 is not registered');
      spec.given(history).when(command('DeregisterDevice', { deviceId: 'cam-1' })).thenThrows(NotFoundError, `device cam-1 was deregistered at ${t0}`);
    });

    it.each([
      ['RecordHeartbeat', { deviceId: 'cam-1' }],
      ['StartUpdate', { deviceId: 'cam-1', modelId: 'det-2.0.0', distributionId: 'dist-1' }],
      ['ActivateModel', { deviceId: 'cam-1', modelId: 'det-2.0.0', swapMs: 40 }],
      ['FailUpdate', { deviceId: 'cam-1', modelId: 'det-2.0.0', reason: 'x' }],
      ['UpdateDevice', { deviceId: 'cam-1', region: 'x' }],
    ] as const)('refuses %s from then on, naming the deregistration', (type, data) => {
      spec.given(history).when(command(type, data as never)).thenThrows(NotFoundError, `device cam-1 was deregistered at ${t0}`);
    });

    it('refuses the device re-admitting itself by announcing', () => {
      spec.given(history).when(register()).thenThrows(IllegalStateError, 'register it again through POST /api/v1/devices');
    });

    it('registers it afresh through the API, Offline and without its old model', () => {
      const again: DeviceRegistered = { ...registered, data: { ...registered.data, registeredAt: now } };
      spec.given(history).when(register({ connected: false })).then([again]);
      const state = fold([...history, again]);
      expect(state).toMatchObject({ status: 'Offline', registeredAt: now });
      expect(state).not.toHaveProperty('currentModelId');
    });

    it('skips later device events when folding', () => {
      expect(fold([...history, online]).status).toBe('Deregistered');
    });
  });

  describe('with commands and events it does not know', () => {
    it('refuses an unknown command as a bad request', () => {
      spec.given([registered]).when({ type: 'RebootDevice', data: { deviceId: 'cam-1' }, metadata: { now } } as unknown as DeviceCommand)
        .thenThrows(InvalidCommandError, 'unknown command type "RebootDevice"');
    });

    it('skips an event of a newer schema when folding', () => {
      const state = fold([registered, online, { type: 'DeviceRebooted', data: { deviceId: 'cam-1' } } as unknown as DeviceEvent]);
      expect(state.status).toBe('Online');
    });
  });
});
