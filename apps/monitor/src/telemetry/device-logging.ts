import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DeviceLogLine, DeviceSubjects, deviceIdOfSubject, queueGroup, Services } from '@hotswap/contracts';
import { closeAll, SERVICE_RUNTIME, validateWith, type BusSubscription, type ServiceRuntime } from '@hotswap/infrastructure';

/**
 * Central logging of the devices: the warning and error lines agents send on
 * `hotswap.device.<id>.log` are written to the monitor's own log, at their level, with `device_id`
 * (and the trace of the message, as every line).
 */
@Injectable()
export class DeviceLogging implements OnModuleInit, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  async onModuleInit(): Promise<void> {
    this.subscriptions = [await this.runtime.bus.subscribe(DeviceSubjects.all.log, {
      queue: queueGroup(Services.monitor), validate: validateWith(DeviceLogLine),
      handler: (line, ctx) => {
        if (deviceIdOfSubject(ctx.subject) !== line.deviceId) {
          this.runtime.logger.warn('refused device message', { subject: ctx.subject, reason: `log line on ${ctx.subject} speaks for device ${line.deviceId}` });
          return;
        }
        const fields = {
          ...line.fields, device_id: line.deviceId, device_time: line.at, ...(line.dropped ? { dropped_lines: line.dropped } : {}),
        };
        if (line.level === 'error') this.runtime.logger.error(line.message, fields);
        else this.runtime.logger.warn(line.message, fields);
      },
    })];
  }

  async onModuleDestroy(): Promise<void> {
    await closeAll(this.subscriptions);
  }
}
