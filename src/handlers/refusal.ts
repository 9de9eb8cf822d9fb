/** A request the bot will not carry out, with the reason the user reads ("no approvers are configured …"). */
export class Refusal extends Error {
  override name = 'Refusal';
}
