import type { Context } from './context';
import { AgentError, EXIT } from './exit-codes';
import type { PlanSource } from './plan';

export async function drill(_source: PlanSource, _ctx: Context): Promise<{ code: number; message: string }> {
  throw new AgentError(EXIT.failed, 'not yet');
}
