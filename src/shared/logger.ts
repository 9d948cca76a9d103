/** The library's only way to speak; the CLI decides where it goes. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export const silentLogger: Logger = {
  info: () => {},
  warn: () => {},
  debug: () => {},
};
