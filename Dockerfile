# One image for the API and the worker; docker-compose.yml chooses the command.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY apps ./apps
COPY packages ./packages
COPY prisma ./prisma
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund
ENV NODE_ENV=production
EXPOSE 3000
CMD ["npm", "run", "start:api"]
