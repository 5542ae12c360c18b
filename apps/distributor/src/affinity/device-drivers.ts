import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Commands, DeviceSubjects, DriveDeviceCommand, type CommandAck, type DesiredModel, type DriveDeviceReply } from '@hotswap/contracts';
import type { ObservableResult } from '@opentelemetry/api';
import { AffinityGauges, inTraceOf, SERVICE_RUNTIME, validateWith, type BusSubscription, type ServiceRuntime } from '@hotswap/infrastructure';
import { DISTRIBUTOR_OPTIONS, type DistributorOptions } from '../distributor.options.js';
import { DistributionCommands } from '../distribution-commands.js';
import { DesiredState } from '../dispatch/desired-state.js';
import { SwapCommands } from '../dispatch/swap-commands.js';
import { Membership, type MembershipChange } from './membership.js';

/** One device's commands on this instance: sent one at a time, newest wins, never an older one after a newer. */
interface Lane {
  /** Position of the newest request taken (sent or waiting). */
  position: bigint;
  next?: DriveDeviceCommand;
  running: boolean;
  /** Command id of the newest command taken: the same command arriving again (a re-drive racing the request it re-sends) is taken once. */
  commandId?: string;
}

/** A re-drive after a rebalance sends the device's current desired model again; it orders before any new request. */
const REDRIVE = -1n;

/**
 * Device affinity: each device is driven by exactly one distributor instance at a time, the one
 * the hash ring over the live instances names. Whoever learns of a request (the dispatch
 * projection, on any instance) hands it to that instance, which sends the device its commands
 * one at a time and in event order. When the instances change, each one re-sends the desired
 * model to its devices of active distributions that have not acknowledged it (devices drop a
 * command id they already had), so a request the departed instance had taken but not delivered is
 * not forgotten.
 */
@Injectable()
export class DeviceDrivers implements OnModuleInit, OnModuleDestroy {
  private subscription?: BusSubscription;
  private readonly lanes = new Map<string, Lane>();
  private readonly work = new Set<Promise<void>>();
  private stopped = false;
  private unobserve?: () => void;
  /** The devices this instance has sent commands to (what it drove, whichever instance learnt of the request). */
  readonly driven = new Set<string>();

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(DISTRIBUTOR_OPTIONS) private readonly options: DistributorOptions,
    private readonly membership: Membership,
    private readonly desired: DesiredState,
    private readonly swapCommands: SwapCommands,
    private readonly distributions: DistributionCommands,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscription = await this.runtime.bus.handle(Commands.driveDevice(this.membership.instanceId), {
      validate: validateWith(DriveDeviceCommand),
      handler: (command): DriveDeviceReply => {
        this.take(command);
        return { accepted: true };
      },
    });
    this.membership.onChange((change) => this.rebalanced(change));
    this.observeDriven();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.unobserve?.();
    await this.subscription?.close();
    await Promise.allSettled([...this.work]);
  }

  /** Hands the request to the instance that drives the device (this one, or another over NATS). */
  async drive(deviceId: string, position: bigint, desired: DesiredModel, traceparent?: string): Promise<void> {
    const command = Object.assign(new DriveDeviceCommand(), {
      deviceId, position: position.toString(), desired, ...(traceparent ? { traceparent } : {}),
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      const owner = this.membership.ownerOf(deviceId);
      if (owner === this.membership.instanceId) return this.take(command);
      try {
        await this.runtime.bus.request<DriveDeviceCommand, DriveDeviceReply>(Commands.driveDevice(owner), command, { timeoutMs: this.options.commandAckTimeoutMs });
        return;
      } catch (error) {
        // The owner may have just died: look at the members again before driving the device ourselves.
        this.runtime.logger.warn('the instance that drives a device did not take its command', { deviceId, owner, error: String(error) });
        await this.membership.heartbeat().catch(() => undefined);
      }
    }
    this.take(command);
  }

  /** Queues the command on the device's lane; an older request than the lane's newest is dropped. */
  private take(command: DriveDeviceCommand): void {
    const position = BigInt(command.position);
    const lane = this.lanes.get(command.deviceId) ?? { position: REDRIVE, running: false };
    this.lanes.set(command.deviceId, lane);
    if (position !== REDRIVE && position < lane.position) return;
    if (command.desired.commandId === lane.commandId) {
      if (position !== REDRIVE) lane.position = position;
      return;
    }
    if (position !== REDRIVE) lane.position = position;
    else if (lane.next !== undefined) return; // a newer request is already waiting
    lane.commandId = command.desired.commandId;
    lane.next = command;
    if (!lane.running) this.track(this.run(command.deviceId, lane));
  }

  private async run(deviceId: string, lane: Lane): Promise<void> {
    lane.running = true;
    try {
      while (lane.next !== undefined && !this.stopped) {
        const command = lane.next;
        lane.next = undefined;
        const delivered = await this.send(deviceId, command.desired, command.traceparent);
        // Undelivered, the same command may come again (a re-drive once the device is back): let it.
        if (!delivered && lane.next === undefined && lane.commandId === command.desired.commandId) lane.commandId = undefined;
      }
    } finally {
      lane.running = false;
    }
  }

  /** Sends the command; whether the device acknowledged it. */
  private async send(deviceId: string, desired: DesiredModel, traceparent: string | undefined): Promise<boolean> {
    try {
      const command = await this.swapCommands.build(desired);
      this.driven.add(deviceId);
      // The command continues the trace of the update request (the bus sends the active span's traceparent).
      const ack = await inTraceOf(traceparent || undefined, () => this.runtime.bus.request<typeof command, CommandAck>(DeviceSubjects.command(deviceId), command, {
        timeoutMs: this.options.commandAckTimeoutMs, envelope: false,
      }));
      if (ack.accepted || ack.reason === 'duplicate') {
        await this.desired.markDelivered(deviceId, desired.commandId);
        return true;
      }
      this.runtime.logger.warn('device refused a swap command', { deviceId, commandId: desired.commandId, reason: ack.reason });
    } catch (error) {
      // The desired state is in KV: the device converges through `sync` when it comes back.
      this.runtime.logger.warn('swap command not acknowledged; the device will converge on sync', { deviceId, error: String(error) });
    }
    return false;
  }

  /**
   * After any change of the instances, sends again the commands of active distributions that no
   * device acknowledged and that this instance now drives, unless one is already on its lane.
   * Not only the devices this instance just gained: another instance may have seen a member come
   * and go that this one never saw, so "gained" differs between views; "undelivered and mine" does not.
   */
  private async rebalanced(change: MembershipChange): Promise<void> {
    const me = this.membership.instanceId;
    let mine = 0;
    let redriven = 0;
    for (const deviceId of await this.desired.devices()) {
      if (change.ring.ownerOf(deviceId) !== me) continue;
      mine++;
      const lane = this.lanes.get(deviceId);
      if (lane?.running || lane?.next !== undefined) continue;
      const desired = await this.desired.get(deviceId);
      // A command the device acknowledged is not sent again; one a departed driver had only queued is.
      if (desired === undefined || desired.delivered || desired.distributionId === undefined) continue;
      if (await this.distributions.isFinished(desired.distributionId)) continue;
      const { delivered: _delivered, ...model } = desired;
      this.take(Object.assign(new DriveDeviceCommand(), { deviceId, position: REDRIVE.toString(), desired: model }));
      redriven++;
    }
    this.runtime.logger.info('device affinity rebalanced', { instance: me, joined: change.joined, left: change.left, devices: mine, redriven });
  }

  /** `distributor.devices.driven`: shows, per instance, how evenly the hash ring spreads the devices. */
  private observeDriven(): void {
    const metrics = this.runtime.metrics;
    if (metrics === undefined) return;
    // Replicas hosted in one process share the handle: each answers for its own instance.
    const attributes = { 'service.instance.id': this.membership.instanceId };
    const gauge = metrics.meter.createObservableGauge(AffinityGauges.devicesDriven, { description: 'Devices this distributor instance has sent commands to since it started' });
    const observe = (result: ObservableResult) => result.observe(this.driven.size, attributes);
    gauge.addCallback(observe);
    this.unobserve = () => gauge.removeCallback(observe);
  }

  private track(work: Promise<void>): void {
    this.work.add(work);
    void work.finally(() => this.work.delete(work));
  }
}
